/**
 * What the web server keeps from the CSM's channel list (`GET /api/v1/channels`, read through
 * CsmApi.listChannels for ChannelSync). Checked before use: only the fields the site keeps are
 * required (the CSM sends more, and may add fields), and a list that does not match fails the whole
 * sync, so nothing stored is overwritten with what the web server cannot read.
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { CsmApiError } from '../client/errors.js';

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** The part of the CSM's ChannelInfo the site keeps; additional fields are allowed and ignored. */
export const CsmChannelInfoSchema = Type.Object({
  id: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }),
  title: Type.String({ minLength: 1, maxLength: 120 }),
  broadcaster: Type.String({ maxLength: 60 }),
  createdAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  viewers: Count,
  peakViewers: Count,
  publisherConnected: Type.Boolean(),
});
export type CsmChannelInfo = Static<typeof CsmChannelInfoSchema>;

const listChecker = Compile(Type.Array(CsmChannelInfoSchema));

/** The CSM's channels as the site keeps them; WEB_ERR_CLIENT_BAD_RESPONSE when the list is not one. */
export function checkCsmChannels(channels: unknown[]): CsmChannelInfo[] {
  if (listChecker.Check(channels)) return channels;
  const first = [...listChecker.Errors(channels)][0];
  throw CsmApiError.client('WEB_ERR_CLIENT_BAD_RESPONSE', `GET /channels: not a channel list (${first ? `${first.instancePath} ${first.message}` : 'unexpected shape'})`);
}
