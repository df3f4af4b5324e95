/**
 * The dependency-injection container (tsyringe). tsyringe needs the Reflect metadata polyfill loaded
 * before it, so every use of tsyringe in memhooks goes through this file.
 */
import 'reflect-metadata';
import * as tsyringe from 'tsyringe';
import type { DependencyContainer } from 'tsyringe';

export type { DependencyContainer };

/** The root container: built-in strategies and @module classes are registered here. */
export const container: DependencyContainer = tsyringe.container;

/** A child container: registrations made in it do not leak into the root (use one per test). */
export function createContainer(parent: DependencyContainer = container): DependencyContainer {
  return parent.createChildContainer();
}

export const injectable = tsyringe.injectable;
