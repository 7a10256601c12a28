/** The sink acknowledges every this many chunks: the sender's credit. */
export const ACK_EVERY = 16
