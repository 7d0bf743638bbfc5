/** One page of a list: which page, its size, and how many rows come before it. */
export interface Page {
  page: number;
  perPage: number;
  offset: number;
}

/** A page of rows and the size of the whole list, both queries sent before either answer is awaited. */
export async function rowsAndTotal<R>(rows: Promise<R[]>, count: Promise<{ n: string }>): Promise<{ rows: R[]; total: number }> {
  const [found, counted] = await Promise.all([rows, count]);
  return { rows: found, total: Number(counted.n) };
}
