import type { z } from 'zod';
import { escalationKind } from './escalation.js';

/**
 * The escalation to the accountable role that a case needs outside expertise (its tags, or no
 * fix feasible within `escalation.outside_expertise.max_fix_days`): the escalation payload and
 * rendering, with the experts listed in config.
 */
export const outsideExpertise = escalationKind('outside-expertise');

export type OutsideExpertisePayload = z.infer<typeof outsideExpertise.schema>;
