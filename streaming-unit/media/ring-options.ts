/**
 * Options of a ring buffer and of its readers: a strict schema (unknown keys refused), defaults
 * derived from the capacity, frozen. Thresholds count what a reader has not read yet besides the
 * frame it is about to send; a reader goes audio-only when EITHER of its lag thresholds is exceeded
 * and goes back to full when BOTH of its resume thresholds are undercut. Set one dimension of a
 * threshold to the capacity (or more) to use only the other one.
 */
import Type, { type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { RingError } from './errors.js';

const Count = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const Threshold = Type.Object({ frames: Count, bytes: Count }, { additionalProperties: false });
const PartialThreshold = Type.Partial(Threshold);

export type Threshold = Static<typeof Threshold>;

export const RingOptionsSchema = Type.Object(
  {
    /** size of the one slab allocated for the frames' bytes; no frame may exceed a quarter of it */
    capacityBytes: Type.Integer({ minimum: 64, maximum: 2 ** 30 }),
    /** number of index slots: the most frames held at once */
    capacityFrames: Type.Integer({ minimum: 2, maximum: 2 ** 20 }),
    /** default for readers: behind by more than this (frames OR bytes) → audio and text only */
    lagThreshold: Threshold,
    /** default for readers: behind by less than this (frames AND bytes) → video again from the next keyframe */
    resumeThreshold: Threshold,
  },
  { additionalProperties: false },
);
export type RingOptions = Static<typeof RingOptionsSchema>;

const RingOptionsInputSchema = Type.Object(
  {
    capacityBytes: Type.Optional(Type.Number()),
    capacityFrames: Type.Optional(Type.Number()),
    lagThreshold: Type.Optional(PartialThreshold),
    resumeThreshold: Type.Optional(PartialThreshold),
  },
  { additionalProperties: false },
);
export type RingOptionsInput = Static<typeof RingOptionsInputSchema>;

const ReaderOptionsSchema = Type.Object(
  { lagThreshold: Type.Optional(PartialThreshold), resumeThreshold: Type.Optional(PartialThreshold) },
  { additionalProperties: false },
);
export type ReaderOptions = Static<typeof ReaderOptionsSchema>;
export interface ReaderThresholds {
  readonly lag: Readonly<Threshold>;
  readonly resume: Readonly<Threshold>;
}

/**
 * 4 MiB holds about 16 s of a 2 Mbit/s stream and admits frames up to 1 MiB; 4,096 slots hold
 * 50 s at 80 frames/s (30 video + 50 audio). Lag: half the ring, so a slow reader sheds video well
 * before the writer laps it. Resume: an eighth, i.e. about 2 s of that stream.
 */
export const ringDefaults = Object.freeze({ capacityBytes: 4 * 1024 * 1024, capacityFrames: 4096 });
const LAG_FRACTION = 1 / 2;
const RESUME_FRACTION = 1 / 8;

function invalid(schema: TSchema, value: unknown, what: string): RingError {
  const problems = [...Value.Errors(schema, value)].slice(0, 3).map((e) => `${e.instancePath || '/'} ${e.message}`);
  return new RingError('RING_ERR_BAD_OPTIONS', `${what}: ${problems.join('; ')}`);
}

function checkOrder(lag: Threshold, resume: Threshold, what: string): void {
  if (resume.frames > lag.frames || resume.bytes > lag.bytes) {
    throw new RingError('RING_ERR_BAD_OPTIONS', `${what}: resumeThreshold must not exceed lagThreshold`);
  }
}

export function resolveRingOptions(input: RingOptionsInput = {}): Readonly<RingOptions> {
  if (!Value.Check(RingOptionsInputSchema, input)) throw invalid(RingOptionsInputSchema, input, 'ring options');
  const capacityBytes = input.capacityBytes ?? ringDefaults.capacityBytes;
  const capacityFrames = input.capacityFrames ?? ringDefaults.capacityFrames;
  const fraction = (capacity: number, f: number) => Math.max(1, Math.floor(capacity * f));
  const options = {
    capacityBytes,
    capacityFrames,
    lagThreshold: {
      frames: input.lagThreshold?.frames ?? fraction(capacityFrames, LAG_FRACTION),
      bytes: input.lagThreshold?.bytes ?? fraction(capacityBytes, LAG_FRACTION),
    },
    resumeThreshold: {
      frames: input.resumeThreshold?.frames ?? fraction(capacityFrames, RESUME_FRACTION),
      bytes: input.resumeThreshold?.bytes ?? fraction(capacityBytes, RESUME_FRACTION),
    },
  };
  if (!Value.Check(RingOptionsSchema, options)) throw invalid(RingOptionsSchema, options, 'ring options');
  checkOrder(options.lagThreshold, options.resumeThreshold, 'ring options');
  Object.freeze(options.lagThreshold);
  Object.freeze(options.resumeThreshold);
  return Object.freeze(options);
}

/** A reader's thresholds: its own options over the ring's defaults, key by key. */
export function resolveReaderThresholds(ring: Readonly<RingOptions>, input: ReaderOptions = {}): ReaderThresholds {
  if (!Value.Check(ReaderOptionsSchema, input)) throw invalid(ReaderOptionsSchema, input, 'reader options');
  const lag = { ...ring.lagThreshold, ...input.lagThreshold };
  const resume = { ...ring.resumeThreshold, ...input.resumeThreshold };
  if (!Value.Check(Threshold, lag)) throw invalid(Threshold, lag, 'reader lagThreshold');
  if (!Value.Check(Threshold, resume)) throw invalid(Threshold, resume, 'reader resumeThreshold');
  checkOrder(lag, resume, 'reader options');
  return Object.freeze({ lag: Object.freeze(lag), resume: Object.freeze(resume) });
}
