/**
 * The streaming unit's error catalogue (fastify's FST_ERR_* pattern): every code declared once with
 * its HTTP status and message. Control-link error responses to the CSM carry the same codes, so the
 * CSM can tell a fencing refusal (UNIT_ERR_STALE_EPOCH) from a disagreement about groups. Every code
 * is documented in streaming-unit/README.md ("Error codes"); a test keeps the two in step.
 */
import { CodedError } from '../protocol/control-errors.js';

export const UnitErrors = {
  UNIT_ERR_STALE_EPOCH: { status: 409, message: 'the command comes from an older CSM epoch than one this unit already obeyed' },
  UNIT_ERR_REMOVED: { status: 410, message: 'the operator removed this unit from the cluster' },
  UNIT_ERR_GROUP_INDEX: { status: 400, message: "the group index is outside this unit's groups" },
  UNIT_ERR_NO_SUCH_GROUP: { status: 404, message: 'no group is allocated at that index' },
  UNIT_ERR_GROUP_TAKEN: { status: 409, message: 'the group index is held by another channel' },
  UNIT_ERR_CHANNEL_MISMATCH: { status: 409, message: 'the group belongs to another channel' },
  UNIT_ERR_NO_SUCH_CHANNEL: { status: 404, message: 'this unit serves no group of that channel' },
  UNIT_ERR_MERGE_INVALID: { status: 409, message: 'these groups cannot be merged' },
  UNIT_ERR_CAPACITY_IN_USE: { status: 409, message: 'the new groups per unit would leave out a group this unit serves' },
  UNIT_ERR_GROUP_FULL: { status: 409, message: 'the group has no free viewer slot' },
  UNIT_ERR_VIEWER_ID: { status: 400, message: 'the viewer id is not 1 to 64 characters' },
  UNIT_ERR_VIEWER_EXISTS: { status: 409, message: 'the viewer is already in another group of this unit' },
  UNIT_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  UNIT_ERR_UNHEALTHY: { status: 503, message: "the unit's event loop is stalled" },
  UNIT_ERR_CLOSING: { status: 503, message: 'the unit is shutting down' },
} as const satisfies Record<string, { status: number; message: string }>;

export type UnitErrorCode = keyof typeof UnitErrors;

export class UnitError extends CodedError {
  readonly status: number;
  constructor(
    readonly unitCode: UnitErrorCode,
    detail?: string,
  ) {
    const entry = UnitErrors[unitCode];
    super(unitCode, detail ? `${entry.message}: ${detail}` : entry.message);
    this.name = 'UnitError';
    this.status = entry.status;
  }
}
