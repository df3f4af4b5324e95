// A complete strategy plugin: for every module of a tree, it records the device bytes before and after the
// module's forward. Importing this file registers the strategy and declares its options' type.
import { HookRegistry, InvalidArgumentError, memory, ModelHook, strategy, type Module } from 'memhooks';
import { Strategy, type Undo } from 'memhooks/plugin';

export interface DeviceBytesRecord {
  /** The module's path in the tree ('' for the root). */
  path: string;
  before: number;
  after: number;
  peak: number;
}

export interface DeviceBytesLoggerOptions {
  /** Receives one record per module forward, innermost modules first. */
  onRecord: (record: DeviceBytesRecord) => void;
}

export const DEVICE_BYTES_LOGGER = 'device-bytes-logger';

// Tells applyStrategy which options this name takes: callbacks are typed, misspelt keys do not compile.
declare module 'memhooks' {
  interface StrategyOptionsMap {
    'device-bytes-logger': DeviceBytesLoggerOptions;
  }
}

/** The hook: remembers the bytes at preForward, reports at postForward. */
class DeviceBytesHook extends ModelHook {
  // A stack, not one field: a module called again inside its own forward (a shared block) nests.
  private readonly starts: number[] = [];

  constructor(
    private readonly path: string,
    private readonly onRecord: (record: DeviceBytesRecord) => void,
  ) {
    super();
  }

  override preForward(_module: Module, args: unknown[]): unknown[] {
    this.starts.push(memory.stats().deviceBytes);
    return args;
  }

  override postForward(_module: Module, output: unknown): unknown {
    const { deviceBytes, peakDeviceBytes } = memory.stats();
    this.onRecord({ path: this.path, before: this.starts.pop() ?? deviceBytes, after: deviceBytes, peak: peakDeviceBytes });
    return output;
  }

  // The forward threw after our preForward ran: drop the start we pushed.
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
