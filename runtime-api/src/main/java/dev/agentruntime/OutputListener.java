package dev.agentruntime;

/**
 * Receives a command's output while it runs, for {@link Runtime#run(CmdRunAction, OutputListener)} and
 * {@link Runtime#execute(Action, OutputListener)}.
 *
 * <pre>{@code
 * CmdOutputObservation out = sandbox.run(CmdRunAction.of("for i in 1 2 3; do echo $i; sleep 1; done"),
 *         chunk -> System.out.print(chunk));   // 1, 2, 3 appear a second apart
 * System.out.println("exit " + out.exitCode());
 * }</pre>
 *
 * <p>Chunks are the terminal's text as it arrives (it may contain ANSI escape sequences and carriage returns); the
 * observation the call returns afterwards is the authoritative, cleaned result, exactly as a client that did not
 * stream would get it. A chunk boundary may fall anywhere, also inside a line. The listener is called on the thread
 * that made the call, in order, never concurrently; it should return quickly (the server coalesces output while a
 * listener is slow, so nothing blocks the command). Against a server that does not stream (e.g. OpenHands' own) no
 * chunk arrives and only the observation is returned.
 */
@FunctionalInterface
public interface OutputListener {

    /** Called with each piece of output, in order; never with an empty string. */
    void onOutput(String chunk);
}
