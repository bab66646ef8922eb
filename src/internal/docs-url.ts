/**
 * Where the documentation lives for someone who installed the package (docs/
 * is not in the tarball). package.json's `repository` names the same place; a
 * test keeps the two in step.
 */
export const REPOSITORY_URL = 'https://github.com/bulwark-js/bulwark';

/** Base of every docs page link in warnings, CLI help and messages. */
export const DOCS_URL = `${REPOSITORY_URL}/blob/main/docs/`;

/** Absolute link to a docs page, e.g. `docsUrl('config.md')`. */
export function docsUrl(page: string): string {
  return `${DOCS_URL}${page}`;
}
