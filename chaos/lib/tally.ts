/** Counts what a scenario sent and what came back. */
import type { WireAnswer } from './wire';

export interface Acked {
  id: string;
  /** Which request it was (`load#12`, `fuzz#4031`), to rebuild what was sent. */
  label: string;
}

export class Tally {
  sent = 0;
  acked: Acked[] = [];
  /** Answers by status (200s included, acknowledged or not). */
  statuses = new Map<number, number>();
  /** Requests that got no answer, by why (closed, timeout, ECONNRESET, ...). */
  noAnswer = new Map<string, number>();

  record(answer: WireAnswer, label: string): void {
    this.sent++;
    if (answer.status === 0) {
      const why = answer.noAnswer ?? 'closed';
      this.noAnswer.set(why, (this.noAnswer.get(why) ?? 0) + 1);
      return;
    }
    this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    const m = /^CrashID=bp-([0-9a-f-]{36})\n$/.exec(answer.body);
    if (answer.status === 200 && m) this.acked.push({ id: m[1]!, label });
  }

  get fiveXx(): number {
    let n = 0;
    for (const [s, c] of this.statuses) if (s >= 500) n += c;
    return n;
  }

  get unanswered(): number {
    let n = 0;
    for (const c of this.noAnswer.values()) n += c;
    return n;
  }

  /** `400×12 413×3` — every status but 200. */
  non2xx(): string {
    return (
      [...this.statuses]
        .filter(([s]) => s < 200 || s >= 300)
        .sort(([a], [b]) => a - b)
        .map(([s, c]) => `${s}×${c}`)
        .join(' ') || '-'
    );
  }

  noAnswerText(): string {
    return [...this.noAnswer].map(([w, c]) => `${w}×${c}`).join(' ') || '-';
  }
}
