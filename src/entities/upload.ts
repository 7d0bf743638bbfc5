import type { Upload } from '../store/file-schema.js';

// GitLab's answer to a project upload, and its upload list entry.

const EMBEDDABLE = /\.(png|jpe?g|gif|bmp|tiff?|ico|webp|svg|mp4|m4v|mov|webm|ogv|mp3|oga|ogg|spx|wav)$/i;

export const uploadPath = (u: Pick<Upload, 'secret' | 'filename'>) => `/uploads/${u.secret}/${encodeURIComponent(u.filename)}`;

export function uploadEntity(u: Upload) {
  const url = uploadPath(u);
  const embeddable = EMBEDDABLE.test(u.filename);
  // Images and videos are embedded under their name without extension; other files link by name.
  const alt = embeddable ? u.filename.replace(/\.[^.]*$/, '') : u.filename;
  return {
    id: u.id,
    alt,
    url,
    full_path: `/-/project/${u.project_id}${url}`,
    markdown: `${embeddable ? '!' : ''}[${alt}](${url})`,
  };
}

export function uploadListEntity(u: Upload, uploader: { id: number; username: string; name: string } | null) {
  return {
    id: u.id,
    size: Number(u.size),
    filename: u.filename,
    created_at: u.created_at,
    uploaded_by: uploader,
  };
}
