import packageJson from '../package.json';

/** The product name and version reported by `/health` and the CLI. */
export const PRODUCT_NAME = 'deja';
export const VERSION: string = packageJson.version;
