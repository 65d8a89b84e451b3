package dev.agentruntime.docker.internal;

import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.StreamType;
import dev.agentruntime.spi.StartupLog;
import java.io.Closeable;

/**
 * Feeds a container's output (from an attach or a followed log stream) into the kit's {@link StartupLog}, which keeps
 * the last lines, spots the ready line and notices the end of the stream (the container stopped).
 */
public final class ContainerOutput extends ResultCallback.Adapter<Frame> {

    private final StartupLog log;
    private final String threadName;
    private final boolean fromStart;

    /**
     * @param log        where the output goes
     * @param threadName name given to the thread docker-java delivers frames on
     * @param fromStart  attached before the container started, so its ready line will come through this stream
     */
    public ContainerOutput(StartupLog log, String threadName, boolean fromStart) {
        this.log = log;
        this.threadName = threadName;
        this.fromStart = fromStart;
    }

    public StartupLog log() {
        return log;
    }

    /** Whether the server's start (and so its ready line) comes through this stream. */
    public boolean fromStart() {
        return fromStart;
    }

    @Override
    public void onStart(Closeable stream) {
        super.onStart(stream);
        Thread.currentThread().setName(threadName);
    }

    @Override
    public void onNext(Frame frame) {
        byte[] payload = frame.getPayload();
        log.accept(payload, 0, payload.length, frame.getStreamType() == StreamType.STDERR);
    }

    @Override
    public void onError(Throwable throwable) {
        // The stream broke (container removed, connection closed): the same as its end for our purposes.
        close();
    }

    @Override
    public void onComplete() {
        log.end();
        super.onComplete();
    }

    @Override
    public void close() {
        try {
            super.close();
        } catch (java.io.IOException e) {
            // closing a finished stream
        }
        log.end();
    }
}
