"""Revenue controls: holds, recognition rules and the gate's arithmetic (pure, no I/O)."""
