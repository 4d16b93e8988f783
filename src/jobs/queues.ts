/** Queue names, declared once (STYLE.md rule 13). The contract between src/ and workers/. */
export const QUEUES = {
  mailer: 'mailer',
  escalation: 'escalation',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
