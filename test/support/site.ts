/**
 * The whole site on loopback for the browser tests and `bench browser`: a real CSM and units
 * (startProcessCluster, fast failure detection) and a real `onair web` process in front of them,
 * serving the built pages (dist/web/public) and /api. `url` is the site's origin.
 */
import { startProcessCluster, type ProcessCluster } from './cluster-fixture.js';
import { startOnair, type OnairProcess } from './processes.js';

export const WEB_READY = /^web \S+ ready http=(\S+)/;

export interface Site {
  url: string;
  cluster: ProcessCluster;
  web: OnairProcess;
  /** the unit that holds a channel's root group now (the one its broadcaster publishes to) */
  rootUnitOf(channelId: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startSite(unitIds: string[] = ['u1', 'u2']): Promise<Site> {
  const cluster = await startProcessCluster(unitIds, { media: true });
  let web: OnairProcess;
  try {
    web = await startOnair(['web', '--port', '0', '--csm', cluster.api], { ONAIR_WEB_CHANNEL_SYNC_MS: '500', ONAIR_WEB_LOG_LEVEL: 'warn' }, WEB_READY);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return {
    url: web.ready[1]!.replace(/\/+$/, ''),
    cluster,
    web,
    rootUnitOf: async (channelId) => {
      const { status, body } = await cluster.admin<{ root: { unitId: string } }>('GET', `/admin/v1/channels/${channelId}`);
      if (status !== 200) throw new Error(`channel ${channelId}: status ${status}`);
      return body.root.unitId;
    },
    stop: async () => {
      await web.stop();
      await cluster.stop();
    },
  };
}
