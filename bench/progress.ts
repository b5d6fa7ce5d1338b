/**
 * What a throughput run is doing, every few seconds, so that a stall shows:
 * rotations by status and current step (from the engine's own log lines, so
 * watching costs no ledger request), 429s met, steps put off (throttled),
 * the step queue's depth, and the warnings seen so far by message. Only
 * message texts, ids and step names are kept: never a field's value.
 */
import { loadavg } from 'node:os';
import type { LogRecord, LogSink } from '../src/observability/logger.js';

export interface QueueGauges {
  readonly active: number;
  readonly locked: number;
  readonly scheduled: number;
  readonly deadLetterQueue: number;
  readonly delivered: number;
  readonly completed: number;
  readonly abandoned: number;
}

export interface ProgressSources {
  /** Key Vault calls answered 429 so far. */
  readonly throttled429: () => number;
  readonly queue: () => QueueGauges;
}

interface Tracked {
  status: string;
  step: string;
  throttled: number;
}

const TERMINAL = new Set(['Completed', 'Failed', 'RolledBack', 'Cancelled']);

export class Progress {
  private readonly rotations = new Map<string, Tracked>();
  private readonly warnings = new Map<string, number>();
  private readonly notes = new Map<string, number>();
  /** The first error message seen under each warning (messages only: the logger has already redacted fields). */
  private readonly examples = new Map<string, string>();
  private stepsRun = 0;
  private readonly outcomes = new Map<string, number>();
  private throttledSteps = 0;
  private timer: NodeJS.Timeout | undefined;
  private t0 = Date.now();
  private sources: ProgressSources | undefined;
  private lastLine = '';

  /** The stack's log sink: counts, prints nothing. */
  readonly sink: LogSink = (record: LogRecord) => {
    const id = typeof record.fields['rotationId'] === 'string' ? record.fields['rotationId'] : undefined;
    if (record.level === 'warn' || record.level === 'error') {
      const code = (record.fields['error'] as { code?: unknown } | undefined)?.code;
      // Ids and numbers folded, so that one kind of warning is one key.
      const text = record.message.replace(/[0-9a-f]{16,}/g, '<id>').replace(/\d+/g, 'N').slice(0, 160);
      const key = `${record.level} ${text}${typeof code === 'string' ? ` (${code})` : ''}`;
      this.warnings.set(key, (this.warnings.get(key) ?? 0) + 1);
      const detail = (record.fields['error'] as { message?: unknown } | undefined)?.message;
      if (!this.examples.has(key) && typeof detail === 'string') this.examples.set(key, detail.replace(/\s+/g, ' ').slice(0, 300));
    }
    if (id === undefined) return;
    const ran = /^step (\S+) (\S+)$/.exec(record.message);
    if (record.level === 'info' && ran === null && record.message !== 'rotation started') this.notes.set(record.message, (this.notes.get(record.message) ?? 0) + 1);
    if (record.message === 'rotation started') {
      if (!this.rotations.has(id)) this.rotations.set(id, { status: 'Running', step: 'begin', throttled: 0 });
      return;
    }
    if (ran === null) return;
    this.stepsRun += 1;
    this.outcomes.set(`${ran[1]!} ${ran[2]!}`, (this.outcomes.get(`${ran[1]!} ${ran[2]!}`) ?? 0) + 1);
    const tracked = this.rotations.get(id) ?? { status: 'Running', step: ran[1]!, throttled: 0 };
    if (ran[2] === 'throttled') {
      tracked.throttled += 1;
      this.throttledSteps += 1;
    }
    const { status, next } = record.fields;
    if (typeof status === 'string') tracked.status = status;
    if (typeof next === 'string') tracked.step = next;
    this.rotations.set(id, tracked);
  };

  start(label: string, sources: ProgressSources, everyMs = 5_000): void {
    this.t0 = Date.now();
    this.sources = sources;
    this.timer = setInterval(() => this.print(label), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** Rotation ids the log says have ended. */
  ended(): Set<string> {
    return new Set([...this.rotations].filter(([, t]) => TERMINAL.has(t.status)).map(([id]) => id));
  }

  summary(): { byStatus: Record<string, number>; runningByStep: Record<string, number>; throttledSteps: number; stepsRun: number } {
    const byStatus: Record<string, number> = {};
    const runningByStep: Record<string, number> = {};
    for (const t of this.rotations.values()) {
      byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
      if (!TERMINAL.has(t.status)) runningByStep[t.step] = (runningByStep[t.step] ?? 0) + 1;
    }
    return { byStatus, runningByStep, throttledSteps: this.throttledSteps, stepsRun: this.stepsRun };
  }

  /** Steps run by "step outcome" (`verify waiting`, `promote succeeded`, …). */
  outcomeCounts(): Record<string, number> {
    return Object.fromEntries(this.outcomes);
  }

  warningExamples(): Record<string, string> {
    return Object.fromEntries(this.examples);
  }

  warningCounts(): Record<string, number> {
    return Object.fromEntries(this.warnings);
  }

  /** Other log lines about rotations (stale redeliveries, already ended, …) by message. */
  noteCounts(): Record<string, number> {
    return Object.fromEntries(this.notes);
  }

  print(label: string): void {
    const s = this.summary();
    const q = this.sources?.queue();
    const line =
      `started ${this.rotations.size} ${JSON.stringify(s.byStatus)} running by step ${JSON.stringify(s.runningByStep)}; steps run ${s.stepsRun}, throttled ${s.throttledSteps}; ` +
      `429s ${this.sources?.throttled429() ?? '?'}; queue active ${q?.active ?? '?'} locked ${q?.locked ?? '?'} scheduled ${q?.scheduled ?? '?'} dlq ${q?.deadLetterQueue ?? '?'} ` +
      `(delivered ${q?.delivered ?? '?'} completed ${q?.completed ?? '?'} abandoned ${q?.abandoned ?? '?'}); warnings ${JSON.stringify(this.warningCounts())}; other ${JSON.stringify(this.noteCounts())}`;
    const elapsed = ((Date.now() - this.t0) / 1000).toFixed(0);
    console.log(`[${label} +${elapsed}s load ${loadavg()[0]!.toFixed(1)}] ${line === this.lastLine ? '(no change) ' : ''}${line}`);
    this.lastLine = line;
  }
}
