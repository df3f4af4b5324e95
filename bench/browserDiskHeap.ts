/**
 * The JS heaps of the browser-disk page and of its model's Worker, sampled from Node through the DevTools protocol
 * while the Worker computes. Why not from inside: a dedicated Worker has no performance.memory (Chromium gives it to
 * pages only), and the page's performance.measureUserAgentSpecificMemory() answers for a Worker only between its
 * tasks, never during a synchronous image or generation. V8 answers the protocol's Runtime.getHeapUsage by interrupt,
 * in the middle of running JavaScript: its `usedSize` (the V8 heap) plus `backingStorageSize` (ArrayBuffer and
 * SharedArrayBuffer memory, where weights read from files and staging slots live) is what the thread holds in JS.
 *
 * The page's session auto-attaches to its dedicated Workers (the non-flattened protocol: messages to a Worker travel
 * wrapped in Target.sendMessageToTarget). A Worker whose script is `workerScript` is a run's model Worker, one per run,
 * in order; the page's samples go to the run whose Worker attached last.
 */
import type { CDPSession } from 'playwright';

/** The peaks of one run (bytes), and how many samples each comes from. */
export interface HeapPeaks {
  /** Highest usedSize + backingStorageSize of the model's Worker. */
  workerBytes: number;
  /** Highest usedSize (V8 heap alone) of the model's Worker. */
  workerV8Bytes: number;
  workerSamples: number;
  /** Highest usedSize + backingStorageSize of the model's Worker in each phase the page reported (generating, image, …). */
  workerBytesByPhase: Record<string, number>;
  /** Highest usedSize + backingStorageSize of the page. */
  pageBytes: number;
  pageSamples: number;
}

interface HeapUsage {
  usedSize: number;
  backingStorageSize?: number;
}

const emptyPeaks = (): HeapPeaks => ({ workerBytes: 0, workerV8Bytes: 0, workerSamples: 0, workerBytesByPhase: {}, pageBytes: 0, pageSamples: 0 });

export class HeapSampler {
  /** Peaks by run, in the order the runs' Workers attached. */
  readonly runs: HeapPeaks[] = [];
  private readonly workers = new Map<string, { run: number; busy: boolean }>();
  private readonly replies = new Map<number, (usage: HeapUsage | undefined) => void>();
  private nextId = 1;
  private timer: ReturnType<typeof setInterval> | undefined;
  private pageBusy = false;
  /** The phase the page last reported (its console lines, seen by the Node side): samples are counted under it. */
  phase = 'starting';

  private constructor(
    private readonly session: CDPSession,
    private readonly collectFirst: readonly boolean[],
  ) {}

  /**
   * Attaches to the page's Workers and samples every `everyMs` until stop(). In the runs whose entry of
   * `collectFirst` is true, each sample of the Worker first collects its garbage (HeapProfiler.collectGarbage):
   * what is live, not what the collector has yet to free (and the run is slower).
   */
  static async start(session: CDPSession, workerScript: string, collectFirst: readonly boolean[] = [], everyMs = 200): Promise<HeapSampler> {
    const sampler = new HeapSampler(session, collectFirst);
    session.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type !== 'worker' || !e.targetInfo.url.includes(workerScript)) return;
      sampler.runs.push(emptyPeaks());
      sampler.workers.set(e.sessionId, { run: sampler.runs.length - 1, busy: false });
    });
    session.on('Target.detachedFromTarget', (e) => void sampler.workers.delete(e.sessionId));
    session.on('Target.receivedMessageFromTarget', (e) => {
      const message = JSON.parse(e.message) as { id?: number; result?: HeapUsage };
      if (message.id === undefined) return;
      sampler.replies.get(message.id)?.(message.result);
      sampler.replies.delete(message.id);
    });
    await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    sampler.timer = setInterval(() => sampler.sample(), everyMs);
    return sampler;
  }

  /** One request per Worker and one for the page, each only when its previous answer came (a busy thread may be slow). */
  private sample(): void {
    const current = this.runs.at(-1);
    for (const [sessionId, w] of this.workers) {
      if (w.busy) continue;
      w.busy = true;
      const id = this.nextId++;
      const phase = this.phase;
      this.replies.set(id, (usage) => {
        w.busy = false;
        const peaks = this.runs[w.run]!;
        if (usage === undefined) return;
        peaks.workerSamples++;
        peaks.workerBytes = Math.max(peaks.workerBytes, usage.usedSize + (usage.backingStorageSize ?? 0));
        peaks.workerV8Bytes = Math.max(peaks.workerV8Bytes, usage.usedSize);
        const bytes = usage.usedSize + (usage.backingStorageSize ?? 0);
        peaks.workerBytesByPhase[phase] = Math.max(peaks.workerBytesByPhase[phase] ?? 0, bytes);
      });
      const send = (message: object): Promise<unknown> => this.session.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify(message) });
      // Messages to one target are handled in order: the collection, then the usage.
      if (this.collectFirst[w.run] === true) send({ id: this.nextId++, method: 'HeapProfiler.collectGarbage' }).catch(() => undefined);
      send({ id, method: 'Runtime.getHeapUsage' }).catch(() => {
        this.replies.delete(id);
        w.busy = false;
      });
    }
    if (current !== undefined && !this.pageBusy) {
      this.pageBusy = true;
      this.session
        .send('Runtime.getHeapUsage')
        .then((usage: HeapUsage) => {
          current.pageSamples++;
          current.pageBytes = Math.max(current.pageBytes, usage.usedSize + (usage.backingStorageSize ?? 0));
        })
        .catch(() => undefined)
        .finally(() => (this.pageBusy = false));
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
