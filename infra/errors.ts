/**
 * The infra catalogue (fastify's FST_ERR_* pattern): every code declared once with its message;
 * infra/README.md documents each (test/infra/infra-errors.test.ts checks). Thrown by the keepalived
 * renderer and the lab.
 */
import { catalogueError } from '../protocol/control-errors.js';

export const INFRA_ERRORS = {
  KEEPALIVED_ERR_INVALID_CONFIG: 'the keepalived configuration is invalid',
  LAB_ERR_BAD_OPTIONS: 'the lab options are invalid',
  LAB_ERR_NOT_ROOT: 'the lab needs root (network namespaces, veth links, keepalived)',
  LAB_ERR_MISSING_TOOL: 'a program the lab needs is not installed',
  LAB_ERR_NO_SUCH_LAB: 'no lab with that id (no state file)',
  LAB_ERR_AMBIGUOUS: 'more than one lab is up; name one with --id',
  LAB_ERR_NO_SUCH_HOST: 'no such host in this lab',
  LAB_ERR_NO_SUCH_PROCESS: 'no such process on that host',
  LAB_ERR_COMMAND_FAILED: 'a system command failed',
  LAB_ERR_START_FAILED: 'a lab process did not start',
  LAB_ERR_TIMEOUT: 'the lab did not reach the expected state in time',
} as const satisfies Record<string, string>;

export type InfraErrorCode = keyof typeof INFRA_ERRORS;

export class InfraError extends catalogueError<InfraErrorCode>('InfraError', INFRA_ERRORS) {}
