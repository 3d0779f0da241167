/**
 * The built pages (dist/web/public) in front of the UDP tests' in-process unit (udp-harness), for
 * browser tests that must see inside that unit (its UDP sessions). No CSM: the service-API calls the
 * broadcast and watch pages make are answered from the harness — grants and tickets for the one unit —
 * as the Node UDP tests' stand-in for the CSM's join does. The media path is the real one.
 *
 * Each `POST /channels` opens the next channel (from 101) and creates its one group on the unit (the
 * next group index); each join is a new viewer `watch-N` in that group.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { IngestGrant, JoinResult, OpenChannelResult } from '../../protocol/service-api.js';
import { servePublicFile } from '../support/public-files.js';
import { UNIT_ID, type Harness } from '../udp/udp-harness.js';

const FIRST_CHANNEL = 101;
const TICKET_LIFE_MS = 10 * 60_000;

export interface PagesOnHarness {
  url: string;
  close(): Promise<void>;
}

export async function servePagesOnHarness(h: Harness): Promise<PagesOnHarness> {
  const unitUrl = `ws://127.0.0.1:${h.unit.port}`;
  const channels = new Map<number, { title: string; broadcaster: string; groupIndex: number }>();
  let viewers = 0;
  const grant = async (channelId: number, groupIndex: number): Promise<IngestGrant> => ({
    channelId,
    unitId: UNIT_ID,
    url: unitUrl,
    group: `${UNIT_ID}/${groupIndex}`,
    ticket: await h.publishTicket(channelId),
    expiresAt: Date.now() + TICKET_LIFE_MS,
  });

  const api = async (method: string, path: string, body: Record<string, unknown>): Promise<[number, unknown]> => {
    if (method === 'POST' && path === '/channels') {
      const groupIndex = channels.size;
      const channelId = FIRST_CHANNEL + groupIndex;
      channels.set(channelId, { title: String(body['title'] ?? ''), broadcaster: String(body['broadcaster'] ?? ''), groupIndex });
      h.unit.groups.createGroup(channelId, groupIndex, 'root');
      const opened: OpenChannelResult = { ...(await grant(channelId, groupIndex)), publisherKey: `key-${channelId}` };
      return [201, opened];
    }
    const match = /^\/channels\/(\d+)(?:\/(join|publish|end))?$/.exec(path);
    const channelId = Number(match?.[1]);
    const channel = channels.get(channelId);
    if (!match || !channel) return [404, { code: 'CSM_ERR_NO_SUCH_CHANNEL', message: `no channel at ${path}`, retryable: false }];
    switch (`${method} ${match[2] ?? ''}`) {
      case 'GET ':
        return [200, { channelId, title: channel.title, broadcaster: channel.broadcaster, viewers: h.unit.groups.viewerCountOf(channelId) }];
      case 'POST join': {
        const viewerId = `watch-${++viewers}`;
        const { groupIndex } = channel;
        const ticket = await h.viewTicket(channelId, groupIndex, viewerId);
        const join: JoinResult = { channelId, viewerId, unitId: UNIT_ID, url: unitUrl, group: `${UNIT_ID}/${groupIndex}`, groupIndex, ticket, expiresAt: Date.now() + TICKET_LIFE_MS, transports: ['udp', 'tcp'], udpCarriers: ['datachannel', 'rtp'] };
        return [200, join];
      }
      case 'POST publish':
        return [200, await grant(channelId, channel.groupIndex)];
      case 'POST end':
        return [200, null];
      default:
        return [404, { code: 'CSM_ERR_NOT_FOUND', message: `${method} ${path}`, retryable: false }];
    }
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/api/v1/')) return servePublicFile(url.pathname, res);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const [status, answer] = await api(req.method ?? 'GET', url.pathname.slice('/api/v1'.length), text ? (JSON.parse(text) as Record<string, unknown>) : {});
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
