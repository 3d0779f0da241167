/**
 * Bad input on the control port of a real CSM process: each malformed or unknown message gets a FATAL
 * frame naming its error code and a closed link; the CSM keeps running and a real unit stays linked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { Packr } from 'msgpackr';
import { FrameReader, decodeEnvelope, encodeEnvelope } from '../../protocol/control-codec.js';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { waitFor } from '../support/processes.js';

const packr = new Packr({ useRecords: false });
const frame = (body: unknown): Buffer => {
  const payload = packr.pack(body);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(payload.length);
  return Buffer.concat([header, payload]);
};
const load = { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 };

/** Send raw bytes; resolve with the code of the FATAL frame the CSM answers with, once it closed the link. */
async function fatalCodeFor(port: number, bytes: Buffer[]): Promise<string | null> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const reader = new FrameReader();
  let code: string | null = null;
  socket.on('data', (chunk: Buffer) => {
    for (const body of reader.push(chunk)) {
      const envelope = decodeEnvelope(body);
      if (envelope.tag === 3) code = envelope.code;
    }
  });
  for (const b of bytes) socket.write(b);
  await once(socket, 'close');
  return code;
}

describe('control link robustness against a real CSM', () => {
  let cluster: ProcessCluster;
  const register = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    unitId: 'rogue',
    address: 'ws://127.0.0.1:1',
    groupsPerUnit: 5,
    groupSize: 10,
    secret: cluster.secret,
    epochSeen: 0,
    groups: [],
    channels: [],
    load,
    ...over,
  });

  before(async () => {
    cluster = await startProcessCluster(['u1']);
    await waitFor('unit u1 linked', async () => (await cluster.admin<{ units: { up: number } }>('GET', '/admin/v1/cluster')).body.units.up === 1);
  });
  after(async () => cluster?.stop());

  const cases: [string, () => Buffer[], string][] = [
    ['a frame header announcing 64 MiB', () => [Buffer.from([0x04, 0x00, 0x00, 0x00])], 'CONTROL_ERR_FRAME_TOO_LARGE'],
    ['bytes that are not msgpack', () => [Buffer.concat([Buffer.from([0, 0, 0, 2]), Buffer.from([0xc1, 0xc1])])], 'CONTROL_ERR_UNDECODABLE'],
    ['msgpack that is not an envelope', () => [frame({ hello: 'world' })], 'CONTROL_ERR_BAD_ENVELOPE'],
    ['a request for an unknown method', () => [frame([0, 1, 'unit.selfDestruct', {}])], 'CONTROL_ERR_UNKNOWN_METHOD'],
    ['a notification before registering', () => [frame([2, 'unit.heartbeat', { load }])], 'CONTROL_ERR_NOT_REGISTERED'],
    ['an unknown notification', () => [frame([2, 'unit.gossip', {}])], 'CONTROL_ERR_UNKNOWN_NOTIFICATION'],
    ['a register with a missing field', () => [frame([0, 1, 'unit.register', { unitId: 'x' }])], 'CONTROL_ERR_BAD_PAYLOAD'],
    ['a register with an extra field', () => [frame([0, 1, 'unit.register', register({ admin: true })])], 'CONTROL_ERR_BAD_PAYLOAD'],
    ['a register with a bad unit id', () => [frame([0, 1, 'unit.register', register({ unitId: '../../etc' })])], 'CONTROL_ERR_BAD_PAYLOAD'],
    ['a register with the wrong secret', () => [frame([0, 1, 'unit.register', register({ secret: 'guess' })])], 'CSM_ERR_BAD_SECRET'],
    ['a response to nothing', () => [encodeEnvelope({ tag: 1, id: 77, ok: true, result: {} })], 'CONTROL_ERR_UNKNOWN_RESPONSE'],
  ];

  for (const [what, bytes, code] of cases) {
    it(`refuses ${what} with ${code} and closes the link`, async () => {
      assert.equal(await fatalCodeFor(cluster.controlPort, bytes()), code);
    });
  }

  it('is still healthy, still has its real unit, and never registered the rogue', async () => {
    const health = await fetch(`${cluster.api}/healthz`);
    assert.equal(health.status, 200);
    const { body: units } = await cluster.admin<{ id: string; connected: boolean }[]>('GET', '/admin/v1/units');
    assert.deepEqual(units.map((u) => [u.id, u.connected]), [['u1', true]]);
    // And it still serves: a channel opens on the real unit.
    const opened = await cluster.service<{ unitId: string }>('POST', '/api/v1/channels', { title: 't', broadcaster: 'b' });
    assert.equal(opened.body.unitId, 'u1');
  });
});
