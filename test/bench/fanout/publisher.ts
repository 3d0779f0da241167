/** The parent's handle on the publisher process (publisher-process.ts) and the messages they trade. */
import { forkHere, ofType, type Child } from './children.js';

export type PublisherTarget = { kind: 'onair'; csmUrl: string } | { kind: 'direct'; url: string; channelId: number };

export type PublisherCommand =
  | { type: 'start'; target: PublisherTarget; bitrateMbps: number; maxSeconds: number; fixture?: string }
  | { type: 'stop' };

export type PublisherReady = { type: 'ready'; channelId: number; source: string; meanMbps: number; videoScale: number };
export type PublisherStopped = { type: 'stopped'; framesSent: number; bytesSent: number; maxLateMs: number };
export type PublisherReply = PublisherReady | PublisherStopped | { type: 'error'; message: string };

export interface RunningPublisher {
  ready: PublisherReady;
  pid: number;
  /** stops sending; resolves with its counters (null if it had to be killed) */
  stop(): Promise<PublisherStopped | null>;
}

export async function startPublisher(target: PublisherTarget, bitrateMbps: number, maxSeconds: number): Promise<RunningPublisher> {
  const child: Child = forkHere('./publisher-process.js');
  try {
    child.send({ type: 'start', target, bitrateMbps, maxSeconds } satisfies PublisherCommand);
    const ready = await child.next(ofType<PublisherReady>('ready'), 'ready', 20_000);
    return {
      ready,
      pid: child.pid,
      stop: async () => {
        child.send({ type: 'stop' } satisfies PublisherCommand);
        const stopped = await child.next(ofType<PublisherStopped>('stopped'), 'stopped', 3000).catch(() => null);
        await child.stop();
        return stopped;
      },
    };
  } catch (error) {
    await child.stop();
    throw error;
  }
}
