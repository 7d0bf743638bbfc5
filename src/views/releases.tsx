import type { releaseEntity } from '../entities/release.js';
import type { Project } from '../store/schema.js';
import { page, Pager, When, type Chrome } from './layout.js';

// The releases of a project and one release, laid out as GitLab lays them out: newest first, a
// badge on an upcoming release, and a release's links grouped by type.

type ReleaseJson = ReturnType<typeof releaseEntity> & { description_html?: string };
type LinkJson = ReleaseJson['assets']['links'][number];

/** GitLab's asset sections, in its order. */
const SECTIONS: Array<[type: string, title: string]> = [['image', 'Images'], ['package', 'Packages'], ['runbook', 'Runbooks'], ['other', 'Other']];

function Crumbs({ chrome, project, rest }: { chrome: Chrome; project: Project; rest?: Array<[string, string | null]> }) {
  return (
    <nav class="crumbs" aria-label="Breadcrumb">
      <ol>
        <li>{project.full_path.split('/').slice(0, -1).join(' / ')}</li>
        <li><a href={chrome.urls.project(project.full_path)}>{project.name}</a></li>
        {(rest ?? []).map(([text, href]) => (
          <li>{href ? <a href={href}>{text}</a> : <span aria-current="page">{text}</span>}</li>
        ))}
      </ol>
    </nav>
  );
}

/** "Upcoming Release" as GitLab shows it, and its "Historical release" when released before it was made. */
function Badges({ release }: { release: ReleaseJson }) {
  return (
    <>
      {release.upcoming_release ? <span class="badge upcoming">Upcoming Release</span> : null}
      {!release.upcoming_release && release.released_at < release.created_at.slice(0, 10) ? <span class="badge">Historical release</span> : null}
    </>
  );
}

function Meta({ chrome, project, release }: { chrome: Chrome; project: Project; release: ReleaseJson }) {
  return (
    <ul class="meta">
      <li>
        Tag <a href={chrome.urls.tag(project.full_path, release.tag_name)}>{release.tag_name}</a>
      </li>
      <li>
        {release.upcoming_release ? 'Will be released ' : 'Released '}
        <When iso={release.released_at} />
      </li>
      {release.author ? <li>by {release.author.name}</li> : null}
      {release.milestones?.length ? <li>Milestones: {release.milestones.map((m) => m.title).join(', ')}</li> : null}
    </ul>
  );
}

export function releasesView(chrome: Chrome, data: { project: Project; canCreate: boolean; releases: Array<{ release: ReleaseJson; excerpt: string }>; total: number; perPage: number; page: number }) {
  const { project } = data;
  return page(chrome, `Releases · ${project.name}`, (
    <>
      <Crumbs chrome={chrome} project={project} rest={[['Releases', null]]} />
      <div class="row">
        <h1>Releases</h1>
        {data.canCreate ? <a class="button primary" href={chrome.urls.newRelease(project.full_path)}>New release</a> : null}
      </div>
      {project.description ? <p class="muted">{project.description}</p> : null}
      {data.releases.length === 0 ? <p>This project has no releases yet.</p> : null}
      <ul class="cards">
        {data.releases.map(({ release, excerpt }, i) => (
          <li class="card">
            <article aria-labelledby={`release-${i}`}>
              <div class="row">
                <h2 id={`release-${i}`}>
                  <a href={chrome.urls.release(project.full_path, release.tag_name)}>{release.name}</a>
                </h2>
                <span><Badges release={release} /></span>
              </div>
              <Meta chrome={chrome} project={project} release={release} />
              {excerpt ? <p class="excerpt">{excerpt}</p> : null}
              {release.assets.links.length ? (
                <>
                  <h3>Assets <span class="badge">{release.assets.count}</span></h3>
                  <ul class="asset-list">
                    {release.assets.links.map((link) => (
                      <li><a href={link.direct_asset_url}>{link.name}</a> <span class="muted">({link.link_type})</span></li>
                    ))}
                  </ul>
                </>
              ) : null}
            </article>
          </li>
        ))}
      </ul>
      <Pager page={data.page} perPage={data.perPage} total={data.total} href={(p) => chrome.urls.releases(project.full_path, p)} />
    </>
  ));
}

/** "0 downloads", "1 download", "1,234 downloads": read as it is written; `data` keeps the plain number. */
function Downloads({ count }: { count: number }) {
  return (
    <span class="downloads">
      <data value={String(count)}>{count.toLocaleString('en-US')}</data> {count === 1 ? 'download' : 'downloads'}
    </span>
  );
}

function Asset({ link, index, downloads }: { link: LinkJson; index: number; downloads: number }) {
  const id = `asset-url-${index}`;
  return (
    <li class="asset">
      <a href={link.direct_asset_url}>{link.name}</a>
      <span class="facts">
        <span>{link.external ? 'External' : 'Internal'}</span>
        <Downloads count={downloads} />
      </span>
      <div class="url">
        <label class="sr-only" for={id}>Direct asset URL of {link.name}</label>
        <input type="text" id={id} readonly value={link.direct_asset_url} />
        <button type="button" data-copy={id} aria-label={`Copy the URL of ${link.name}`} hidden>Copy</button>
      </div>
    </li>
  );
}

/** `downloadsOf`: a link's count by its id, as the download counts API gives it. */
export function releaseView(chrome: Chrome, data: { project: Project; release: ReleaseJson; downloadsOf(id: number): number; canEdit: boolean }) {
  const { project, release } = data;
  let index = 0;
  const sections = SECTIONS.map(([type, title]) => [title, release.assets.links.filter((l) => l.link_type === type)] as const).filter(([, links]) => links.length);
  return page(chrome, `${release.name} · ${project.name}`, (
    <>
      <Crumbs chrome={chrome} project={project} rest={[['Releases', chrome.urls.releases(project.full_path)], [release.tag_name, null]]} />
      <div class="row">
        <h1>{release.name}</h1>
        <span class="actions">
          <Badges release={release} />
          {data.canEdit ? <a class="button" href={chrome.urls.edit(project.full_path, release.tag_name)}>Edit release</a> : null}
        </span>
      </div>
      <Meta chrome={chrome} project={project} release={release} />
      <section aria-labelledby="assets" class="assets card">
        <h2 id="assets">Assets <span class="badge">{release.assets.count}</span></h2>
        {sections.length === 0 ? <p class="muted">No assets.</p> : null}
        {sections.map(([title, links]) => (
          <>
            <h3>{title}</h3>
            <ul>{links.map((link) => <Asset link={link} index={index++} downloads={data.downloadsOf(link.id)} />)}</ul>
          </>
        ))}
      </section>
      <section aria-labelledby="notes">
        <h2 id="notes">Release notes</h2>
        {release.description_html ? <div class="md" dangerouslySetInnerHTML={{ __html: release.description_html }} /> : <p class="muted">No release notes.</p>}
      </section>
    </>
  ));
}

export interface TagData {
  project: Project;
  tag: { name: string; message: string; target: string; protected: boolean; created_at: string };
  release: { name: string; tag_name: string } | null;
}

export function tagView(chrome: Chrome, data: TagData) {
  const { project, tag } = data;
  return page(chrome, `${tag.name} · Tags · ${project.name}`, (
    <>
      <Crumbs chrome={chrome} project={project} rest={[['Tags', null], [tag.name, null]]} />
      <div class="row">
        <h1>{tag.name}</h1>
        {tag.protected ? <span class="badge">Protected</span> : null}
      </div>
      <ul class="meta">
        <li>Commit <code>{tag.target.slice(0, 8)}</code></li>
        <li>Created <When iso={tag.created_at} /></li>
      </ul>
      {tag.message ? <p class="excerpt">{tag.message}</p> : null}
      {data.release ? (
        <p>
          Release: <a href={chrome.urls.release(project.full_path, data.release.tag_name)}>{data.release.name}</a>
        </p>
      ) : (
        <p class="muted">This tag has no release.</p>
      )}
    </>
  ));
}
