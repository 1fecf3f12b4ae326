package io.sprawl;

/** An error Sprawl reported; {@link #code()} is the name from docs/errors.md. */
public class SprawlException extends RuntimeException {
  private final String code;
  private final int codeNumber;
  private final boolean retriable;

  public SprawlException(String code, int codeNumber, String message, boolean retriable) {
    super(code + ": " + message);
    this.code = code;
    this.codeNumber = codeNumber;
    this.retriable = retriable;
  }

  /** The error's name, e.g. "NOT_FOUND". */
  public String code() {
    return code;
  }

  /** The error's number in docs/errors.md. */
  public int codeNumber() {
    return codeNumber;
  }

  /** Whether sending the same request again may succeed. */
  public boolean isRetriable() {
    return retriable;
  }

  static SprawlException closed(String what) {
    return new SprawlException("CLOSED", 10, what + " is closed", false);
  }
}
