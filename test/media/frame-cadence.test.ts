/**
 * The fan-out's batch rule (streaming-unit/media/FrameCadence.ts): a frame is held back only while
 * another one is due within the budget, judged from each kind's rhythm in the media timestamps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FrameKind } from '../../protocol/media-frame.js';
import { ARRIVAL_SLACK_MS, batchHoldMs, FrameCadence } from '../../streaming-unit/media/FrameCadence.js';

const AUDIO_STEP_MS = 20;
const VIDEO_STEP_MS = 1000 / 30;
const BUDGET_MS = 10;

function near(actual: number, expected: number, message: string): void {
  assert.ok(Math.abs(actual - expected) < 1e-6, `${message}: ${actual}, expected ${expected}`);
}

interface Arrival {
  kind: FrameKind;
  atMs: number;
  timestampUs: number;
}

/** Audio every 20 ms and video at 30 fps, arriving on time, video `videoOffsetMs` after the audio. */
function steadyStream(durationMs: number, videoOffsetMs: number): Arrival[] {
  const arrivals: Arrival[] = [];
  for (let t = 0; t < durationMs; t += AUDIO_STEP_MS) arrivals.push({ kind: FrameKind.AUDIO, atMs: t, timestampUs: Math.round(t * 1000) });
  for (let i = 0; videoOffsetMs + i * VIDEO_STEP_MS < durationMs; i++) {
    const t = videoOffsetMs + i * VIDEO_STEP_MS;
    arrivals.push({ kind: FrameKind.VIDEO, atMs: t, timestampUs: Math.round(i * VIDEO_STEP_MS * 1000) });
  }
  return arrivals.sort((a, b) => a.atMs - b.atMs);
}

/**
 * Runs the rule the way Fanout.writeFrame does, on a simulated clock: returns each write's frames
 * and how long each frame waited.
 */
function batch(arrivals: Arrival[], budgetMs: number): { writes: number; waits: number[] } {
  const cadence = new FrameCadence();
  let pending: number[] = [];
  let startedAt = 0;
  let fireAt = Infinity;
  let writes = 0;
  const waits: number[] = [];
  const flush = (at: number): void => {
    for (const arrivedAt of pending) waits.push(at - arrivedAt);
    pending = [];
    fireAt = Infinity;
    writes++;
  };
  for (const { kind, atMs, timestampUs } of arrivals) {
    if (fireAt <= atMs) flush(fireAt);
    cadence.note(kind, timestampUs, atMs);
    if (pending.length === 0) startedAt = atMs;
    pending.push(atMs);
    const hold = batchHoldMs(cadence, atMs, startedAt, budgetMs);
    if (hold <= 0) flush(atMs);
    else fireAt = atMs + hold;
  }
  if (pending.length > 0) flush(fireAt);
  return { writes, waits };
}

describe('FrameCadence and the batch hold', () => {
  it('sends at once while the rhythm is unknown', () => {
    const cadence = new FrameCadence();
    assert.equal(cadence.nextDueMs(0), Infinity);
    cadence.note(FrameKind.AUDIO, 0, 0);
    assert.equal(batchHoldMs(cadence, 0, 0, BUDGET_MS), 0, 'one frame teaches no interval');
    cadence.note(FrameKind.TEXT, 5_000, 5);
    assert.equal(batchHoldMs(cadence, 5, 5, BUDGET_MS), 0, 'text frames have no rhythm');
  });

  it('holds a frame until just past the due time of one due within the budget, and no longer', () => {
    const cadence = new FrameCadence();
    // audio at 0, 20, 40, 60 ms; video at 10 and 43.3 ms
    for (const [kind, at, ts] of [
      [FrameKind.AUDIO, 0, 0],
      [FrameKind.VIDEO, 10, 0],
      [FrameKind.AUDIO, 20, 20_000],
      [FrameKind.AUDIO, 40, 40_000],
      [FrameKind.VIDEO, 43.3, 33_333],
      [FrameKind.AUDIO, 60, 60_000],
    ] as const) cadence.note(kind, ts, at);
    near(cadence.nextDueMs(60), 43.3 + 33.333, 'video is due one frame interval after its last arrival');
    assert.equal(batchHoldMs(cadence, 60, 60, BUDGET_MS), 0, 'the next frame (video at 76.6) is beyond the budget: send now');
    near(batchHoldMs(cadence, 60, 60, 20), 43.3 + 33.333 + ARRIVAL_SLACK_MS - 60, 'a larger budget waits for it, plus the slack');
    cadence.note(FrameKind.VIDEO, 66_667, 76.7);
    near(batchHoldMs(cadence, 76.7, 76.7, BUDGET_MS), 80 + ARRIVAL_SLACK_MS - 76.7, 'audio due at 80: hold until 82');
    near(batchHoldMs(cadence, 79, 76.7, 4), 76.7 + 4 - 79, 'never past the batch start plus the budget');
    assert.equal(batchHoldMs(cadence, 79, 76.7, 3), 0, 'audio due at 80 is past this budget (79.7): send now');
    assert.equal(batchHoldMs(cadence, 83, 83, BUDGET_MS), 0, 'audio is late (due 80): a late frame is not waited for, and video is due at 110');
  });

  it('learns the interval from the media timestamps, not from bunched arrivals', () => {
    const cadence = new FrameCadence();
    // the network delivers three audio frames at once, then one on time
    cadence.note(FrameKind.AUDIO, 0, 100);
    cadence.note(FrameKind.AUDIO, 20_000, 140);
    cadence.note(FrameKind.AUDIO, 40_000, 140.2);
    near(cadence.nextDueMs(140.2), 160.2, 'due 20 ms after the last arrival');
    cadence.note(FrameKind.AUDIO, 2_000_000, 200);
    near(cadence.nextDueMs(200), 220, 'a jump in the timestamps (a pause) teaches nothing');
  });

  it('on a steady 50 + 30 frames/s stream merges a third of the writes at 10 ms, and no frame waits past the budget', () => {
    for (const offset of [0, 3, 7, 12, 17]) {
      const arrivals = steadyStream(10_000, offset);
      const { writes, waits } = batch(arrivals, BUDGET_MS);
      assert.equal(waits.length, arrivals.length, 'every frame written once');
      assert.ok(writes <= arrivals.length * 0.7, `offset ${offset}: ${writes} writes for ${arrivals.length} frames`);
      assert.ok(Math.max(...waits) <= BUDGET_MS + 1e-9, `offset ${offset}: longest wait ${Math.max(...waits)}`);
      const held = waits.filter((w) => w > 0).length;
      assert.ok(held <= arrivals.length - writes, `offset ${offset}: only frames that shared a write waited (${held} held, ${arrivals.length - writes} saved writes)`);
      const without = batch(arrivals, 0);
      assert.equal(without.writes, arrivals.length, 'budget 0: one write per frame');
    }
  });

  it('never holds a batch past its budget, whatever the arrivals', () => {
    const arrival = fc.record({ kind: fc.constantFrom(FrameKind.AUDIO, FrameKind.VIDEO, FrameKind.TEXT), gapMs: fc.double({ min: 0, max: 60, noNaN: true }), stepUs: fc.integer({ min: -5_000, max: 600_000 }) });
    fc.assert(
      fc.property(fc.array(arrival, { maxLength: 200 }), fc.integer({ min: 1, max: 40 }), (steps, budget) => {
        let at = 0;
        let ts = 0;
        const arrivals = steps.map(({ kind, gapMs, stepUs }) => {
          at += gapMs;
          ts = Math.max(0, ts + stepUs);
          return { kind, atMs: at, timestampUs: ts };
        });
        const { waits } = batch(arrivals, budget);
        assert.equal(waits.length, arrivals.length);
        for (const wait of waits) assert.ok(wait >= 0 && wait <= budget + 1e-9, `waited ${wait} with budget ${budget}`);
      }),
    );
  });
});
