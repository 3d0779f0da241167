/**
 * The site's pages: the built files in pagesDir (index.html the home page, broadcast.html and
 * watch.html, their script bundles and style.css), served at `/` by @fastify/static; `/watch` finds
 * watch.html. A missing file falls through to the not-found handler (WEB_ERR_NOT_FOUND).
 *
 * Every file is sent with `Cache-Control: no-cache` and an ETag: the bundles' names carry no content
 * hash, so a browser must revalidate (a cheap 304) or it could run an old script against a new page.
 *
 * The server starts without built pages (a fresh checkout, or the pages being rebuilt); `/` then
 * answers WEB_ERR_PAGES_NOT_BUILT instead of a bare 404, and serves the page as soon as it exists.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { WebError } from '../errors.js';

export interface PagesOptions {
  /** absolute path of the built pages */
  pagesDir: string;
}

const HOME = 'index.html';

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export const pages: FastifyPluginAsync<PagesOptions> = async (app, { pagesDir }) => {
  await app.register(fastifyStatic, {
    root: pagesDir,
    prefix: '/',
    // Not in the OpenAPI document: these are files, not the API.
    schemaHide: true,
    index: false,
    extensions: ['html'],
    redirect: false,
    dotfiles: 'ignore',
    cacheControl: false,
    etag: true,
    lastModified: true,
    // The pages may be built after the server started: no warning for a missing directory.
    suppressWarning: true,
    setHeaders: (reply) => {
      reply.header('cache-control', 'no-cache');
    },
  });

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    // Where the server looked is logged at start (WebServer), not told to browsers.
    if (!(await isFile(join(pagesDir, HOME)))) throw new WebError('WEB_ERR_PAGES_NOT_BUILT');
    return reply.header('cache-control', 'no-cache').sendFile(HOME);
  });
};
