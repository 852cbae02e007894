// Errors raised at the native boundary. Their messages are written for the person running flint:
// they say what was expected and how to fix it, never a raw pointer or errno.

/** A problem the user can fix (bad path, bad argument, missing tool). CLIs print only the message. */
export class UserError extends Error {
  override name = "UserError";
}

/** llama.cpp's libraries are missing, unloadable, or from another release. */
export class NativeLibraryError extends UserError {
  override name = "NativeLibraryError";
}

/** libllama refused a model or context; carries the last lines llama.cpp logged. */
export class LlamaError extends UserError {
  override name = "LlamaError";
}
