/** The console API's request schemas (strict: unknown keys refused). */
import Type from 'typebox';

const strict = { additionalProperties: false } as const;

export const SignInBody = Type.Object(
  { user: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) },
  strict,
);
export const UnitParams = Type.Object({ unitId: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' }) }, strict);
export const ChannelParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }) }, strict);
export const ExpandBody = Type.Object({ groups: Type.Integer({ minimum: 1, maximum: 100 }) }, strict);
export const UnitAction = Type.Enum(['evacuate', 'drain', 'resume', 'remove']);
export const ChannelAction = Type.Enum(['shrink', 'close']);
export const CapacityBody = Type.Object(
  {
    groupsPerUnit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    groupSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  },
  { ...strict, minProperties: 1 },
);
