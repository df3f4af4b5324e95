/**
 * A complete memhooks plugin: a strategy that records, for every module of a tree, the device bytes
 * before and after its forward. docs/plugins.md walks through it; test/strategies/plugins.test.ts runs it.
 */
import {
  HookRegistry,
  InvalidArgumentError,
  memory,
  ModelHook,
  Strategy,
  strategy,
  type Module,
  type Undo,
} from '../src/index.js';

export interface DeviceBytesRecord {
  path: string;
  before: number;
  after: number;
  peak: number;
}

export interface DeviceBytesLoggerOptions {
  /** Receives one record per module forward, innermost modules first. */
  onRecord: (record: DeviceBytesRecord) => void;
}

export const DEVICE_BYTES_LOGGER = 'device-bytes-logger' as const;

/** The hook: remembers the bytes at preForward, reports at postForward. */
class DeviceBytesHook extends ModelHook {
  private readonly starts: number[] = [];

  constructor(private readonly path: string, private readonly onRecord: DeviceBytesLoggerOptions['onRecord']) {
    super();
  }

  override preForward(_module: Module, args: any[]): any[] {
    this.starts.push(memory.stats().deviceBytes);
    return args;
  }

  override postForward(_module: Module, output: any): any {
    const { deviceBytes, peakDeviceBytes } = memory.stats();
    this.onRecord({ path: this.path, before: this.starts.pop()!, after: deviceBytes, peak: peakDeviceBytes });
    return output;
  }

  // A forward that throws must not leave a stale start behind for the next call.
  override onForwardError(): void {
    this.starts.pop();
  }
}

@strategy(DEVICE_BYTES_LOGGER)
export class DeviceBytesLogger extends Strategy<DeviceBytesLoggerOptions> {
  override validate(_module: Module, options: DeviceBytesLoggerOptions): void {
    if (typeof options?.onRecord !== 'function') {
      throw new InvalidArgumentError(`${DEVICE_BYTES_LOGGER} needs an onRecord(record) function in its options, got ${typeof options?.onRecord}.`);
    }
  }

  override apply(root: Module, options: DeviceBytesLoggerOptions): Undo {
    const handles = root.namedModules().map(([path, m]) =>
      HookRegistry.checkIfExistsOrInitialize(m).registerHook(new DeviceBytesHook(path, options.onRecord), DEVICE_BYTES_LOGGER),
    );
    return { remove: () => handles.forEach((h) => h.remove()) };
  }
}
