"""Domain rules of Sentrix as pure functions: classes, risk, validity, location and naming. No I/O."""
