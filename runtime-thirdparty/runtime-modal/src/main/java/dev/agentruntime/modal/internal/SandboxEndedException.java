package dev.agentruntime.modal.internal;

import dev.agentruntime.modal.ModalSandboxEndedException;

/** Thrown by the API client when a call finds its sandbox ended. */
final class SandboxEndedException extends ModalSandboxEndedException {

    SandboxEndedException(String sandboxId, SandboxEnd end) {
        super(sandboxId, end.reason(), "Modal sandbox " + sandboxId + " has ended: " + end.describe() + ".");
    }
}
