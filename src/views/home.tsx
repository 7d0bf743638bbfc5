import { page, Pager, type Chrome } from './layout.js';

export interface HomeData {
  projects: Array<{ name: string; description: string; fullPath: string; visibility: string }>;
  total: number;
  perPage: number;
  page: number;
  search: string;
  mine: boolean;
}

/** `/`: the projects one may see, searchable; signed in, also just one's own. */
export function homeView(chrome: Chrome, data: HomeData) {
  const { urls } = chrome;
  const query = (p?: number) => urls.home({ search: data.search || undefined, mine: data.mine ? 'yes' : undefined, page: p });
  const title = data.mine ? 'Your projects' : 'Projects';
  return page(chrome, title, (
    <>
      <h1>{title}</h1>
      {chrome.user ? (
        <ul class="tabs">
          <li><a href={urls.home({ search: data.search || undefined })} aria-current={data.mine ? undefined : 'page'}>All projects</a></li>
          <li><a href={urls.home({ search: data.search || undefined, mine: 'yes' })} aria-current={data.mine ? 'page' : undefined}>Your projects</a></li>
        </ul>
      ) : null}
      <form class="search" role="search" method="get" action={urls.home()}>
        <label for="search">Search projects</label>
        <input type="search" id="search" name="search" value={data.search} />
        {data.mine ? <input type="hidden" name="mine" value="yes" /> : null}
        <button type="submit">Search</button>
      </form>
      {data.projects.length === 0 ? <p>{data.search ? `No project matches “${data.search}”.` : 'No projects to show.'}</p> : null}
      <ul class="cards">
        {data.projects.map((p) => (
          <li class="card">
            <h2>
              <a href={urls.project(p.fullPath)}>{p.fullPath}</a>
            </h2>
            <p class="muted">
              {p.visibility === 'public' ? 'Public' : p.visibility === 'internal' ? 'Internal' : 'Private'}
              {p.description ? ` · ${p.description}` : ''}
            </p>
          </li>
        ))}
      </ul>
      <Pager page={data.page} perPage={data.perPage} total={data.total} href={query} />
    </>
  ));
}
