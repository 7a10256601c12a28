/** Makes a fresh instance of the implementation under test, as js-libp2p's compliance suites take it. */
export type TestSetup<T> = () => Promise<T>
