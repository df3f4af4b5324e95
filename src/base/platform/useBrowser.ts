// Registers the browser platform. The browser entry files (src/browser*.ts, chosen by the package's
// `browser` export condition) import this before anything else.
import { browserPlatform } from './browser.js';
import { setPlatform } from './Platform.js';

setPlatform(browserPlatform);
