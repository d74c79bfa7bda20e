/** Placeholder until the CLI convention lands. */
export {};
