/** Types of build-page.mjs: builds the captive portal's page (index.html, app.js) into `outdir`. */
export function buildPortalPage(options?: { outdir?: string }): Promise<Record<string, number>>;
