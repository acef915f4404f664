/** This package's version, kept equal to package.json's by test/integration/socketOptions.test.ts; sent in the default User-Agent. */
export const packageVersion = '0.1.0';
