/**
 * One streaming unit process, wired: configuration, a child logger carrying unitId, the group state
 * (UnitGroups), the load meter, the client-facing HTTP server and the control link to the CSM.
 * The HTTP server listens before the link starts, so the address told to the CSM carries the real
 * port even when port 0 was asked. Teardown runs in the reverse order (mediasoup: close() cascades,
 * safe twice).
 */
import type { Logger } from '../protocol/logger.js';
import { TypedEmitter } from '../protocol/typed-emitter.js';
import { ConfigError } from '../protocol/config.js';
import { TicketVerifier } from '../protocol/tickets.js';
import { advertisedAddress, parseAllowedOrigins, type UnitConfig } from './config.js';
import { CsmLink } from './CsmLink.js';
import { UnitHttpServer } from './http.js';
import { LoadMeter } from './LoadMeter.js';
import { LoopMonitor, type LoopMonitorOptions } from './LoopMonitor.js';
import { MediaPlane } from './media/MediaPlane.js';
import type { RingOptionsInput } from './media/RingBuffer.js';
import { freeUdpPortNear, udpBindAddress, type UdpOptions } from './media/udp/udp-options.js';
import { createUnitRegistry } from './metrics.js';
import { UnitGroups } from './UnitGroups.js';

export interface StreamingUnitOptions {
  /** how often the load meter closes an interval */
  loadSampleMs?: number;
  loop?: LoopMonitorOptions;
  /** the per-channel ring buffers' options (default: 4 MiB, 4,096 frames) */
  ring?: RingOptionsInput;
  /** UDP mode tuning over what the configuration gives (udpMaxSessions, the bind address from host) */
  udp?: Partial<UdpOptions>;
}

export type StreamingUnitEvents = {
  /** the operator removed this unit from the cluster (csm.removeUnit); the process should stop */
  removed: [];
  closed: [];
};

interface UnitParts {
  config: Readonly<UnitConfig>;
  logger: Logger;
  groups: UnitGroups;
  meter: LoadMeter;
  loop: LoopMonitor;
  http: UnitHttpServer;
  link: CsmLink;
  media: MediaPlane;
  address: string;
}

export class StreamingUnit extends TypedEmitter<StreamingUnitEvents> {
  readonly config: Readonly<UnitConfig>;
  readonly logger: Logger;
  readonly groups: UnitGroups;
  readonly meter: LoadMeter;
  readonly loop: LoopMonitor;
  readonly http: UnitHttpServer;
  readonly link: CsmLink;
  /** ingest and TCP viewers on the HTTP server's port */
  readonly media: MediaPlane;
  /** the ws:// base URL the CSM hands to clients */
  readonly address: string;
  #closed = false;

  private constructor(parts: UnitParts) {
    super();
    this.config = parts.config;
    this.logger = parts.logger;
    this.groups = parts.groups;
    this.meter = parts.meter;
    this.loop = parts.loop;
    this.http = parts.http;
    this.link = parts.link;
    this.media = parts.media;
    this.address = parts.address;
  }

  static async start(config: Readonly<UnitConfig>, rootLogger: Logger, options: StreamingUnitOptions = {}): Promise<StreamingUnit> {
    const logger = rootLogger.child({ unitId: config.unitId });
    const groups = new UnitGroups(config.groupsPerUnit, config.groupSize);
    const meter = new LoadMeter(groups);
    const loop = new LoopMonitor(options.loop);
    // The link does not exist yet while the registry is built; its gauges read it through this holder.
    let link: CsmLink | null = null;
    let mediaPlane: MediaPlane | null = null;
    const registry = createUnitRegistry({
      unitId: config.unitId,
      // a getter: the operator may change it through the CSM (csm.setCapacity)
      get groupsPerUnit() {
        return groups.groupsPerUnit;
      },
      groupsUsed: () => groups.groupsUsed,
      viewers: () => groups.viewerCount,
      csmLinked: () => link?.linked ?? false,
      epoch: () => link?.epoch ?? 0,
      load: () => meter.current(),
      loopLagMs: () => loop.lagMs,
      channels: () => groups.report().channels.map((c) => ({ ...c, viewers: groups.viewerCountOf(c.channelId) })),
      videoHolds: () => mediaPlane?.videoHolds() ?? { behind: 0, 'slow-link': 0 },
      udpSessionsOpen: () => mediaPlane?.udp.openByCarrier() ?? { datachannel: 0, rtp: 0 },
      udpChunksSent: () => ({ ...(mediaPlane?.udp.counters.chunksSentOn ?? { datachannel: 0, rtp: 0 }) }),
    });
    const verifier = await loadTicketVerifier(config, logger);
    const media = new MediaPlane({
      unitId: config.unitId,
      groups,
      meter,
      logger,
      verifier,
      allowedOrigins: parseAllowedOrigins(config.allowedOrigins),
      maxConnectionsPerIp: config.maxConnectionsPerIp,
      clusterSecret: config.clusterSecret,
      ...(options.ring ? { ring: options.ring } : {}),
      batchMs: config.fanoutBatchMs,
      loopLagMs: () => loop.lagMs,
      udp: { maxSessions: config.udpMaxSessions, bindAddress: udpBindAddress(config.host), ...options.udp },
    });
    mediaPlane = media;
    let http: UnitHttpServer;
    try {
      http = await UnitHttpServer.listen({
        routes: (app) => media.attach(app),
      host: config.host,
      port: config.port,
      loop,
      registry,
      logger,
      health: () => ({ unitId: config.unitId, csmLinked: link?.linked ?? false, epoch: link?.epoch ?? 0, groupsUsed: groups.groupsUsed, groupsPerUnit: groups.groupsPerUnit, groupSize: groups.groupSize, viewers: groups.viewerCount }),
      });
    } catch (error) {
      media.close();
      throw error;
    }
    if (media.udp.port === 0 && config.udpPort > 0) media.udp.usePort(config.udpPort);
    else if (media.udp.port === 0) {
      // The same number as the media port, unless some other socket holds that UDP port (tests on one machine).
      try {
        const chosen = await freeUdpPortNear(http.port, media.udp.options.bindAddress);
        if (chosen.preferredTaken) logger.warn({ mediaPort: http.port, udpPort: chosen.port }, 'UDP port with the media port\'s number is taken; data channels use another');
        media.udp.usePort(chosen.port);
      } catch (error) {
        media.close();
        http.close();
        throw error;
      }
    }
    const address = advertisedAddress(config, http.port);
    if (!config.advertiseAddress && (config.host === '0.0.0.0' || config.host === '::')) {
      logger.warn({ address }, 'listening on a wildcard host without advertiseAddress; clients cannot use the advertised address');
    }
    link = new CsmLink(
      {
        unitId: config.unitId,
        address,
        csmHost: config.csmHost,
        csmControlPort: config.csmControlPort,
        clusterSecret: config.clusterSecret,
        reconnectMinMs: config.reconnectMinMs,
        reconnectMaxMs: config.reconnectMaxMs,
        // Both carriers while UDP mode is on: the CSM passes them on to joining viewers.
        udpCarriers: config.udpMaxSessions > 0 ? ['datachannel', 'rtp'] : [],
      },
      groups,
      meter,
      logger,
    );
    const unit = new StreamingUnit({ config, logger, groups, meter, loop, http, link, media, address });
    link.on('removed', () => unit.safeEmit('removed'));
    meter.start(options.loadSampleMs ?? 1000);
    loop.start();
    link.start();
    logger.info({ address, port: http.port, udpPort: media.udp.port, csm: `${config.csmHost}:${config.csmControlPort}`, groups: config.groupsPerUnit, groupSize: config.groupSize }, 'streaming unit started');
    return unit;
  }

  get port(): number {
    return this.http.port;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Stop: the CSM link first (no commands mid-teardown), then HTTP, then the timers. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.link.close();
    this.media.close();
    this.http.close();
    this.meter.close();
    this.loop.close();
    this.logger.info('streaming unit stopped');
    this.safeEmit('closed');
  }
}

/** The CSM's ticket key from `ticketPublicJwk`; null (media refused, with a warning) when unset. */
async function loadTicketVerifier(config: Readonly<UnitConfig>, logger: Logger): Promise<TicketVerifier | null> {
  const text = config.ticketPublicJwk;
  if (text.trim() === '') {
    logger.warn('no ticketPublicJwk configured: the media routes refuse every connection (close code 4419, MEDIA_DISABLED)');
    return null;
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new ConfigError('ticketPublicJwk is not valid JSON (expected the CSM\'s public Ed25519 JWK)');
  }
  return TicketVerifier.fromJwk(jwk as Parameters<typeof TicketVerifier.fromJwk>[0]);
}
