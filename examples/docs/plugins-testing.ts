// In tests, register plugins in a child container, so that one test's strategies never collide with another's.
import { applyStrategy, Linear, strategy, type Module } from 'memhooks';
import { createContainer, Strategy, type Undo } from 'memhooks/plugin';

const c = createContainer();
const applied: string[] = [];

@strategy('my-test-strategy', { container: c })
export class MyTestStrategy extends Strategy<{ label: string }> {
  override apply(module: Module, options: { label: string }): Undo {
    applied.push(`${options.label} on ${module.constructor.name}`);
    return { remove: () => applied.pop() };
  }
}

const model = new Linear(4, 4);
// Not declared in StrategyOptionsMap: give the options' type explicitly.
const handle = applyStrategy<{ label: string }>(model, 'my-test-strategy', { label: 'test' }, { container: c });
console.log(applied.join()); // test on Linear
handle.remove();
model.dispose();
