/**
 * What the unit does for each CSM command (protocol CSM_COMMANDS). The table is typed over every
 * command, so adding one to the protocol without serving it here fails to compile. Each handler runs
 * only after `admit` accepted the command's epoch (fencing); an error it throws becomes an error
 * response on the link, which stays up.
 */
import type { ControlChannel } from '../protocol/ControlChannel.js';
import { CSM_COMMANDS, Method, type CsmCommand, type RequestParams, type RequestResult } from '../protocol/control-messages.js';
import type { UnitGroups } from './UnitGroups.js';

export interface CommandContext {
  readonly groups: UnitGroups;
  /** Throws for a command from an older epoch (or after removal); otherwise records the epoch. */
  admit(method: CsmCommand, epoch: number): void;
  /** csm.removeUnit was accepted; called before the acknowledgement is written. */
  removed(): void;
}

type CommandTable = { [M in CsmCommand]: (params: RequestParams<M>, ctx: CommandContext) => void };

const commands: CommandTable = {
  [Method.CSM_CREATE_GROUP]: (p, ctx) => void ctx.groups.createGroup(p.channelId, p.groupIndex, p.role),
  [Method.CSM_RELEASE_GROUP]: (p, ctx) => ctx.groups.releaseGroup(p.channelId, p.groupIndex),
  [Method.CSM_MERGE_GROUP]: (p, ctx) => ctx.groups.mergeGroup(p.channelId, p.from, p.into),
  [Method.CSM_LINK_RELAY]: (p, ctx) => ctx.groups.linkRelay(p.channelId, p.parent),
  [Method.CSM_EVACUATE]: (p, ctx) => void ctx.groups.evacuate(p.channelIds),
  // Idempotent: closing a channel this unit no longer serves is already done.
  [Method.CSM_CLOSE_CHANNEL]: (p, ctx) => void ctx.groups.closeChannel(p.channelId),
  [Method.CSM_REMOVE_UNIT]: (_p, ctx) => ctx.removed(),
  [Method.CSM_SET_CAPACITY]: (p, ctx) => ctx.groups.setCapacity(p.groupsPerUnit, p.groupSize),
};

const ack = { ok: true } as const;

export function serveCsmCommands(channel: ControlChannel, ctx: CommandContext): void {
  for (const method of CSM_COMMANDS) serve(channel, method, ctx);
}

function serve<M extends CsmCommand>(channel: ControlChannel, method: M, ctx: CommandContext): void {
  const run = commands[method] as (params: RequestParams<M>, ctx: CommandContext) => void;
  channel.handle(method, (params) => {
    ctx.admit(method, (params as { epoch: number }).epoch);
    run(params, ctx);
    return ack as RequestResult<M>;
  });
}
