import type { z } from 'zod';

/**
 * What a participant accepts, declared once and read by both sides: its name (its command queue)
 * and each command's payload schema. The orchestrator's steps send payloads of these types and the
 * participant's handlers receive them, so a command name or a payload field that one side renames
 * fails to compile on the other, instead of by convention at run time.
 */
export interface ParticipantContract<Name extends string = string, Commands extends Record<string, z.ZodType> = Record<string, z.ZodType>> {
  participant: Name;
  commands: Commands;
}

export function defineParticipant<const Name extends string, const Commands extends Record<string, z.ZodType>>(
  participant: Name,
  commands: Commands,
): ParticipantContract<Name, Commands> {
  return { participant, commands };
}

/** The command names of a contract. */
export type CommandOf<C extends ParticipantContract> = Extract<keyof C['commands'], string>;

/** The payload a command carries, as its sender builds it. */
export type PayloadOf<C extends ParticipantContract, K extends CommandOf<C>> = z.input<C['commands'][K]>;
