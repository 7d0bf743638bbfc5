/** One page of a list: which page, its size, and how many rows come before it. */
export interface Page {
  page: number;
  perPage: number;
  offset: number;
}
