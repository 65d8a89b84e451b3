package dev.agentruntime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.agentruntime.FileReadAction.ImplSource;
import dev.agentruntime.internal.WireCodec;
import dev.agentruntime.internal.WireFormatException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * The wire JSON against the golden examples of the OpenHands protocol reference (§2.3 from OpenHands' own
 * serialization tests, §2.4 what the server actually receives and returns). Trees are compared, not strings.
 */
class WireFormatTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration DEFAULT = Duration.ofSeconds(120);

    private static JsonNode tree(String json) {
        try {
            return JSON.readTree(json);
        } catch (Exception e) {
            throw new AssertionError("bad JSON in test: " + json, e);
        }
    }

    /** Encodes with the public codec and compares with the golden tree, dropping {@code message} when the golden omits it. */
    private static void assertEncodesTo(Action action, String golden) {
        JsonNode expected = tree(golden);
        ObjectNode actual = (ObjectNode) tree(WireFormat.toJson(action));
        if (!expected.has("message")) {
            actual.remove("message");
        }
        assertThat(actual).as("wire JSON of %s", action).isEqualTo(expected);
    }

    private static void assertEncodesTo(Observation observation, String golden) {
        JsonNode expected = tree(golden);
        ObjectNode actual = (ObjectNode) tree(WireFormat.toJson(observation));
        if (!expected.has("message")) {
            actual.remove("message");
        }
        assertThat(actual).as("wire JSON of %s", observation).isEqualTo(expected);
    }

    /** The observation with the top-level keys the server never sets (id, timestamp, source, cause) removed. */
    private static JsonNode withoutEventKeys(String json) {
        ObjectNode node = (ObjectNode) tree(json);
        node.remove(List.of("id", "timestamp", "source", "cause"));
        return node;
    }

    // ------------------------------------------------------------------ §2.3 golden actions (OpenHands tests)

    @Nested
    class ActionGoldenExamples {

        @Test
        void runEncodesToTheOpenHandsFieldSet() {
            assertEncodesTo(CmdRunAction.of("echo \"Hello world\""), """
                    {"action": "run",
                     "args": {"blocking": false, "command": "echo \\"Hello world\\"", "is_input": false, "thought": "",
                              "hidden": false, "confirmation_state": "confirmed", "is_static": false, "cwd": null,
                              "security_risk": -1}}
                    """);
        }

        @Test
        void browseEncodesToTheOpenHandsFieldSet() {
            assertEncodesTo(BrowseUrlAction.of("https://www.example.com"), """
                    {"action": "browse", "args": {"thought": "", "url": "https://www.example.com",
                     "return_axtree": false, "security_risk": -1}}
                    """);
        }

        @Test
        void readEncodesToTheOpenHandsFieldSet() {
            assertEncodesTo(new FileReadAction("/path/to/file.txt", 0, -1, "None", ImplSource.DEFAULT, null, null), """
                    {"action": "read",
                     "args": {"path": "/path/to/file.txt", "start": 0, "end": -1, "thought": "None",
                              "impl_source": "default", "view_range": null, "security_risk": -1}}
                    """);
        }

        @Test
        void writeEncodesToTheOpenHandsFieldSet() {
            assertEncodesTo(new FileWriteAction("/path/to/file.txt", "Hello world", 0, 1, "None", null), """
                    {"action": "write",
                     "args": {"path": "/path/to/file.txt", "content": "Hello world", "start": 0, "end": 1,
                              "thought": "None", "security_risk": -1}}
                    """);
        }

        @Test
        void strReplaceEditEncodesToTheOpenHandsFieldSet() {
            assertEncodesTo(new FileEditAction("/path/to/file.txt", "str_replace", null, "old text", "new text", null,
                    "", 1, -1, "Replacing text", ImplSource.OH_ACI, null), """
                    {"action": "edit",
                     "args": {"path": "/path/to/file.txt", "command": "str_replace", "file_text": null,
                              "old_str": "old text", "new_str": "new text", "insert_line": null, "content": "",
                              "start": 1, "end": -1, "thought": "Replacing text", "impl_source": "oh_aci",
                              "security_risk": -1}}
                    """);
        }

        @Test
        void llmBasedEditEncodesToTheOpenHandsFieldSet() {
            FileEditAction action = new FileEditAction("/path/to/file.txt", null, null, null, null, null,
                    "Updated content", 1, 10, "Updating file content", ImplSource.LLM_BASED_EDIT, null);
            assertEncodesTo(action, """
                    {"action": "edit",
                     "args": {"path": "/path/to/file.txt", "command": null, "file_text": null, "old_str": null,
                              "new_str": null, "insert_line": null, "content": "Updated content", "start": 1,
                              "end": 10, "thought": "Updating file content", "impl_source": "llm_based_edit",
                              "security_risk": -1}}
                    """);
        }
    }

    // ------------------------------------------------------- §2.4 bodies the server actually receives

    /** The §2.4 action bodies, each paired with the record that must encode to it and decode from it. */
    private static final Map<String, Action> SERVER_BODIES = new java.util.LinkedHashMap<>();

    static {
        SERVER_BODIES.put("""
                {"message": "Running command: ls -l", "action": "run",
                 "args": {"command": "ls -l", "is_input": false, "thought": "", "blocking": false, "is_static": false,
                          "cwd": null, "hidden": false, "confirmation_state": "confirmed", "security_risk": -1},
                 "timeout": 120.0}
                """, CmdRunAction.of("ls -l").withHardTimeout(DEFAULT));
        SERVER_BODIES.put("""
                {"message": "Running Python code interactively: print(1)", "action": "run_ipython",
                 "args": {"code": "print(1)", "thought": "", "include_extra": true, "confirmation_state": "confirmed",
                          "security_risk": -1, "kernel_init_code": ""}, "timeout": 120.0}
                """, IPythonRunCellAction.of("print(1)").withTimeout(DEFAULT));
        SERVER_BODIES.put("""
                {"message": "Reading file: /workspace/test.txt", "action": "read",
                 "args": {"path": "/workspace/test.txt", "start": 0, "end": -1, "thought": "", "security_risk": -1,
                          "impl_source": "oh_aci", "view_range": [1, 20]}, "timeout": 120.0}
                """, new FileReadAction("/workspace/test.txt", 0, -1, "", ImplSource.OH_ACI, List.of(1, 20), DEFAULT));
        SERVER_BODIES.put("""
                {"message": "Writing file: hello.sh", "action": "write",
                 "args": {"path": "hello.sh", "content": "echo \\"Hello, World!\\"", "start": 0, "end": -1,
                          "thought": "", "security_risk": -1}, "timeout": 120.0}
                """, new FileWriteAction("hello.sh", "echo \"Hello, World!\"", 0, -1, "", DEFAULT));
        SERVER_BODIES.put("""
                {"message": "", "action": "edit",
                 "args": {"path": "/workspace/new.txt", "command": "create", "file_text": "New file content",
                          "old_str": null, "new_str": null, "insert_line": null, "content": "", "start": 1, "end": -1,
                          "thought": "", "security_risk": -1, "impl_source": "oh_aci"}, "timeout": 120.0}
                """, new FileEditAction("/workspace/new.txt", "create", "New file content", null, null, null, "", 1, -1,
                        "", ImplSource.OH_ACI, DEFAULT));
        SERVER_BODIES.put("""
                {"message": "", "action": "edit", "args": {"path": "/workspace/test.txt", "command": "insert",
                          "file_text": null, "old_str": null, "new_str": "Inserted line", "insert_line": 1,
                          "content": "", "start": 1, "end": -1, "thought": "", "security_risk": -1,
                          "impl_source": "oh_aci"}, "timeout": 120.0}
                """, new FileEditAction("/workspace/test.txt", "insert", null, null, "Inserted line", 1, "", 1, -1,
                        "", ImplSource.OH_ACI, DEFAULT));
        SERVER_BODIES.put("""
                {"message": "", "action": "edit", "args": {"path": "/workspace/test.txt", "command": "undo_edit",
                          "file_text": null, "old_str": null, "new_str": null, "insert_line": null, "content": "",
                          "start": 1, "end": -1, "thought": "", "security_risk": -1, "impl_source": "oh_aci"},
                 "timeout": 120.0}
                """, new FileEditAction("/workspace/test.txt", "undo_edit", null, null, null, null, "", 1, -1, "",
                        ImplSource.OH_ACI, DEFAULT));
        SERVER_BODIES.put("""
                {"message": "I am browsing the URL: https://www.example.com", "action": "browse",
                 "args": {"url": "https://www.example.com", "thought": "", "security_risk": -1,
                          "return_axtree": false}, "timeout": 120.0}
                """, new BrowseUrlAction("https://www.example.com", "", false, DEFAULT));
    }

    @Nested
    class ServerActionBodies {

        @Test
        void everyActionTypeEncodesToExactlyTheBodyTheServerReceives() {
            SERVER_BODIES.forEach((golden, action) -> assertEncodesTo(action, golden));
            assertThat(SERVER_BODIES.values()).extracting(Action::type)
                    .containsAll(WireCodec.ACTION_TYPES);
        }

        @Test
        void timeoutIsAFloatNumberOfSeconds() {
            JsonNode node = tree(WireFormat.toJson(CmdRunAction.of("ls").withHardTimeout(Duration.ofSeconds(120))));
            assertThat(node.get("timeout").isFloatingPointNumber()).isTrue();
            assertThat(WireFormat.toJson(CmdRunAction.of("ls").withHardTimeout(Duration.ofSeconds(120))))
                    .contains("\"timeout\":120.0");
            assertThat(tree(WireFormat.toJson(CmdRunAction.of("ls").withHardTimeout(Duration.ofMillis(1500))))
                    .get("timeout").asDouble()).isEqualTo(1.5);
        }

        @Test
        void actionWithoutTimeoutHasNoTimeoutKey() {
            assertThat(tree(WireFormat.toJson(CmdRunAction.of("ls"))).has("timeout")).isFalse();
        }

        @Test
        void everyServerBodyDecodesToItsRecordDespiteEventKeys() {
            SERVER_BODIES.forEach((golden, expected) -> {
                ObjectNode node = (ObjectNode) tree(golden);
                node.put("id", 5);
                node.put("timestamp", "2025-01-27T23:16:56.951967");
                node.put("source", "agent");
                node.putObject("tool_call_metadata").put("function_name", "execute_bash")
                        .put("tool_call_id", "toolu_01").putObject("model_response").put("id", "x");
                assertThat(WireFormat.actionFromJson(node.toString())).as(golden).isEqualTo(expected);
            });
        }

        @Test
        void theVerbatimRunBodyWithEnvelopeKeysDecodes() {
            String body = """
                    {"id": 5, "timestamp": "2025-01-27T23:16:56.951967", "source": "agent",
                     "message": "Running command: ls -l", "action": "run",
                     "args": {"command": "ls -l", "is_input": false, "thought": "", "blocking": false,
                              "is_static": false, "cwd": null, "hidden": false, "confirmation_state": "confirmed",
                              "security_risk": -1},
                     "timeout": 120.0}
                    """;
            Action action = WireFormat.actionFromJson(body);
            assertThat(action).isEqualTo(CmdRunAction.of("ls -l").withHardTimeout(DEFAULT));
            assertThat(action.timeout()).contains(DEFAULT);
            assertThat(((CmdRunAction) action).blocking()).isFalse();
        }

        @Test
        void reEncodingADecodedServerBodyGivesTheSameTree() {
            SERVER_BODIES.keySet().forEach(golden ->
                    assertThat(tree(WireFormat.toJson(WireFormat.actionFromJson(golden)))).isEqualTo(tree(golden)));
        }

        @Test
        void reEncodingTheLlmBasedEditGoldenKeepsItsNullCommand() {
            String golden = """
                    {"action": "edit",
                     "args": {"path": "/path/to/file.txt", "command": null, "file_text": null, "old_str": null,
                              "new_str": null, "insert_line": null, "content": "Updated content", "start": 1,
                              "end": 10, "thought": "Updating file content", "impl_source": "llm_based_edit",
                              "security_risk": -1}}
                    """;
            ObjectNode reEncoded = (ObjectNode) tree(WireFormat.toJson(WireFormat.actionFromJson(golden)));
            reEncoded.remove("message");
            assertThat(reEncoded).isEqualTo(tree(golden));
        }
    }

    // ------------------------------------------------------------------------------ decoding leniency

    @Nested
    class DecodingInput {

        @Test
        void unknownArgsAreIgnored() {
            Action action = WireFormat.actionFromJson("""
                    {"action": "run", "args": {"command": "pwd", "timestamp": "2025-01-01", "keep_prompt": false,
                     "some_future_field": {"nested": [1, 2]}}}
                    """);
            assertThat(action).isEqualTo(CmdRunAction.of("pwd"));
        }

        @Test
        void missingArgsDefaultsLikeOpenHands() {
            assertThat(WireFormat.actionFromJson("{\"action\": \"read\", \"args\": {\"path\": \"/a\"}}"))
                    .isEqualTo(FileReadAction.of("/a"));
            assertThat(WireFormat.actionFromJson("{\"action\": \"edit\", \"args\": {\"path\": \"/a\"}}"))
                    .isEqualTo(new FileEditAction("/a", "", null, null, null, null, "", 1, -1, "",
                            ImplSource.OH_ACI, null));
        }

        @Test
        void insertLineAsNumericStringIsAccepted() {
            Action action = WireFormat.actionFromJson("""
                    {"action": "edit", "args": {"path": "/w/f.txt", "command": "insert", "new_str": "x",
                     "insert_line": "185"}}
                    """);
            assertThat(((FileEditAction) action).insertLine()).isEqualTo(185);
        }

        @Test
        void blockingFromArgsIsKeptWithATopLevelTimeout() {
            CmdRunAction action = (CmdRunAction) WireFormat.actionFromJson("""
                    {"action": "run", "args": {"command": "sleep 1", "blocking": true}, "timeout": 30}
                    """);
            assertThat(action.blocking()).isTrue();
            assertThat(action.timeout()).contains(Duration.ofSeconds(30));
        }

        @Test
        void missingRequiredFieldNamesTheFieldAndAction() {
            assertThatThrownBy(() -> WireFormat.actionFromJson("{\"action\": \"write\", \"args\": {\"path\": \"/a\"}}"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'content'")
                    .hasMessageContaining("'write'");
        }

        @Test
        void missingRequiredFieldIsA422ForTheServer() {
            assertThatThrownBy(() -> WireCodec.decodeAction(tree("{\"action\": \"run\", \"args\": {}}")))
                    .isInstanceOfSatisfying(WireFormatException.class, e -> assertThat(e.status()).isEqualTo(422))
                    .hasMessage("Missing required field 'command' in args of action 'run'");
        }

        @Test
        void wrongFieldTypeIsA422NamingTheField() {
            assertThatThrownBy(() -> WireCodec.decodeAction(tree("{\"action\": \"run\", \"args\": {\"command\": 5}}")))
                    .isInstanceOfSatisfying(WireFormatException.class, e -> assertThat(e.status()).isEqualTo(422))
                    .hasMessageContaining("'command'");
        }

        @Test
        void malformedJsonIsA400() {
            assertThatThrownBy(() -> WireFormat.actionFromJson("{\"action\": \"run\", "))
                    .isInstanceOfSatisfying(WireFormatException.class, e -> assertThat(e.status()).isEqualTo(400))
                    .hasMessageStartingWith("Malformed JSON");
            assertThatThrownBy(() -> WireCodec.parse(""))
                    .isInstanceOfSatisfying(WireFormatException.class, e -> assertThat(e.status()).isEqualTo(400))
                    .hasMessageStartingWith("Malformed JSON");
        }

        @Test
        void unknownActionTypeIsA400ListingTheSupportedTypes() {
            assertThatThrownBy(() -> WireCodec.decodeAction(tree("{\"action\": \"think\", \"args\": {}}")))
                    .isInstanceOfSatisfying(WireFormatException.class, e -> assertThat(e.status()).isEqualTo(400))
                    .hasMessageContaining("'think'")
                    .hasMessageContaining("run, run_ipython, read, write, edit, browse");
        }

        @Test
        void missingActionTypeIsA400() {
            assertThatThrownBy(() -> WireCodec.decodeAction(tree("{\"args\": {\"command\": \"ls\"}}")))
                    .isInstanceOfSatisfying(WireFormatException.class, e -> assertThat(e.status()).isEqualTo(400))
                    .hasMessageContaining("Missing action type");
        }

        @Test
        void nonPositiveTimeoutIsRejected() {
            assertThatThrownBy(() -> WireCodec.decodeAction(tree("{\"action\": \"run\", \"args\": {\"command\": \"ls\"}, \"timeout\": 0}")))
                    .isInstanceOfSatisfying(WireFormatException.class, e -> assertThat(e.status()).isEqualTo(422))
                    .hasMessageContaining("'timeout'");
        }
    }

    // ----------------------------------------------------------------------------------- observations

    @Nested
    class Observations {

        private static final String RUN_GOLDEN = """
                {"message": "Command `ls -l` executed with exit code 0.", "observation": "run", "content": "total 0",
                 "extras": {"command": "ls -l",
                            "metadata": {"exit_code": 0, "pid": -1, "username": "openhands", "hostname": "0301ebbced1e",
                                         "working_dir": "/workspace", "py_interpreter_path": "/usr/bin/python",
                                         "prefix": "", "suffix": "\\n[The command completed with exit code 0.]"},
                            "hidden": false},
                 "success": true}
                """;
        private static final String IPYTHON_GOLDEN = """
                {"message": "Code executed in IPython cell.", "observation": "run_ipython",
                 "content": "1\\n[Jupyter current working directory: /workspace]",
                 "extras": {"code": "print(1)", "image_urls": null}, "success": true}
                """;
        private static final String READ_GOLDEN = """
                {"message": "I read the file /workspace/hello.sh.", "observation": "read",
                 "content": "echo \\"Hello, World!\\"\\n",
                 "extras": {"path": "/workspace/hello.sh", "impl_source": "default"}}
                """;
        private static final String WRITE_GOLDEN = """
                {"message": "I wrote to the file /workspace/hello.sh.", "observation": "write", "content": "",
                 "extras": {"path": "/workspace/hello.sh"}}
                """;
        private static final String EDIT_GOLDEN = """
                {"message": "I edited the file /workspace/test.txt.", "observation": "edit",
                 "content": "The file /workspace/test.txt has been edited.",
                 "extras": {"path": "/workspace/test.txt", "prev_exist": false, "old_content": "test file",
                            "new_content": "sample file", "impl_source": "oh_aci",
                            "diff": "--- /workspace/test.txt\\n+++ /workspace/test.txt\\n@@ -1 +1 @@\\n-This is a test file.\\n+This is a sample file.",
                            "_diff_cache": null}}
                """;
        private static final String ERROR_GOLDEN = """
                {"message": "File not found: /workspace/hello.sh. Your current working directory is /workspace.",
                 "observation": "error",
                 "content": "File not found: /workspace/hello.sh. Your current working directory is /workspace.",
                 "extras": {"error_id": ""}}
                """;

        @Test
        void serverObservationGoldensRoundTrip() {
            for (String golden : List.of(RUN_GOLDEN, IPYTHON_GOLDEN, READ_GOLDEN, WRITE_GOLDEN, EDIT_GOLDEN, ERROR_GOLDEN)) {
                Observation decoded = WireFormat.observationFromJson(golden);
                assertThat(tree(WireFormat.toJson(decoded))).as(golden).isEqualTo(tree(golden));
            }
        }

        @Test
        void runObservationDecodesMetadataAndSuccess() {
            CmdOutputObservation run = (CmdOutputObservation) WireFormat.observationFromJson(RUN_GOLDEN);
            assertThat(run.content()).isEqualTo("total 0");
            assertThat(run.command()).isEqualTo("ls -l");
            assertThat(run.metadata()).isEqualTo(new CmdOutputMetadata(0, -1, "openhands", "0301ebbced1e",
                    "/workspace", "/usr/bin/python", "", "\n[The command completed with exit code 0.]"));
            assertThat(run.success()).isTrue();
            assertThat(run.hidden()).isFalse();
        }

        @Test
        void successIsEmittedForRunFromTheExitCode() {
            CmdOutputObservation failed = new CmdOutputObservation("boom", "false",
                    CmdOutputMetadata.unknown().withSuffix(""), false);
            assertThat(tree(WireFormat.toJson(failed)).get("success").asBoolean()).isFalse();
            CmdOutputObservation ok = new CmdOutputObservation("", "true",
                    new CmdOutputMetadata(0, -1, null, null, null, null, "", ""), false);
            assertThat(tree(WireFormat.toJson(ok)).get("success").isBoolean()).isTrue();
            assertThat(tree(WireFormat.toJson(ok)).get("success").asBoolean()).isTrue();
        }

        @Test
        void nonRunObservationsHaveNoSuccessExceptIPython() {
            assertThat(tree(WireFormat.toJson(new FileWriteObservation("", "/a"))).has("success")).isFalse();
            assertThat(tree(WireFormat.toJson(ErrorObservation.of("x"))).has("success")).isFalse();
            assertThat(tree(WireFormat.toJson(new IPythonRunCellObservation("", "1", null))).get("success").asBoolean())
                    .isTrue();
        }

        @Test
        void openHandsTestRunGoldenDecodesIgnoringEventKeys() {
            String golden = """
                    {"id": 42, "source": "agent", "timestamp": "2021-08-01T12:00:00", "observation": "run",
                     "message": "Command `ls -l` executed with exit code 0.",
                     "extras": {"command": "ls -l", "hidden": false,
                                "metadata": {"exit_code": 0, "hostname": null, "pid": -1, "prefix": "",
                                             "py_interpreter_path": null, "suffix": "", "username": null,
                                             "working_dir": null}},
                     "content": "foo.txt", "success": true}
                    """;
            Observation decoded = WireFormat.observationFromJson(golden);
            assertThat(decoded).isEqualTo(new CmdOutputObservation("foo.txt", "ls -l",
                    new CmdOutputMetadata(0, -1, null, null, null, null, "", ""), false));
            assertThat(tree(WireFormat.toJson(decoded))).isEqualTo(withoutEventKeys(golden));
        }

        @Test
        void editGoldenWithDiffCacheNullRoundTrips() {
            String golden = """
                    {"observation": "edit",
                     "extras": {"_diff_cache": null, "impl_source": "llm_based_edit", "new_content": null,
                                "old_content": null, "path": "", "prev_exist": false, "diff": null},
                     "message": "I edited the file .",
                     "content": "[Existing file /path/to/file.txt is edited with 1 changes.]"}
                    """;
            Observation decoded = WireFormat.observationFromJson(golden);
            assertThat(decoded).isEqualTo(new FileEditObservation(
                    "[Existing file /path/to/file.txt is edited with 1 changes.]", "", false, null, null,
                    ImplSource.LLM_BASED_EDIT, null));
            assertThat(tree(WireFormat.toJson(decoded))).isEqualTo(tree(golden));
        }

        @Test
        void errorObservationKeepsErrorId() {
            Observation decoded = WireFormat.observationFromJson("""
                    {"observation": "error", "content": "Action think is not supported in the current runtime.",
                     "extras": {"error_id": "AGENT_ERROR$BAD_ACTION"}}
                    """);
            assertThat(decoded).isEqualTo(new ErrorObservation(
                    "Action think is not supported in the current runtime.", "AGENT_ERROR$BAD_ACTION"));
            assertThat(tree(WireFormat.toJson(decoded)).get("extras").get("error_id").asText())
                    .isEqualTo("AGENT_ERROR$BAD_ACTION");
        }

        @Test
        void readTrajectoryGoldenDecodes() {
            Observation decoded = WireFormat.observationFromJson("""
                    {"id": 4, "timestamp": "2025-01-27T23:16:54.140581", "source": "agent",
                     "message": "I read the file /workspace.", "cause": 3, "observation": "read",
                     "content": "Here's the files and directories up to 2 levels deep in /workspace",
                     "extras": {"path": "/workspace", "impl_source": "oh_aci"}}
                    """);
            assertThat(decoded).isEqualTo(new FileReadObservation(
                    "Here's the files and directories up to 2 levels deep in /workspace", "/workspace",
                    ImplSource.OH_ACI));
            assertThat(decoded.message()).isEqualTo("I read the file /workspace.");
        }

        @Test
        void legacyExitCodeAndCommandIdMapToMetadata() {
            Observation decoded = WireFormat.observationFromJson("""
                    {"observation": "run", "content": "foo.txt", "message": "Command `ls -l` executed with exit code 0.",
                     "extras": {"command": "ls -l", "hidden": false, "exit_code": 0, "command_id": 3}}
                    """);
            CmdOutputObservation run = (CmdOutputObservation) decoded;
            assertThat(run.metadata().exitCode()).isZero();
            assertThat(run.metadata().pid()).isEqualTo(3);
            JsonNode reEncoded = tree(WireFormat.toJson(decoded));
            assertThat(reEncoded.at("/extras/metadata/exit_code").asInt()).isZero();
            assertThat(reEncoded.at("/extras/metadata/pid").asInt()).isEqualTo(3);
            assertThat(reEncoded.get("extras").has("exit_code")).isFalse();
            assertThat(reEncoded.get("extras").has("command_id")).isFalse();
        }

        @Test
        void runWithoutMetadataMaterializesTheDefault() {
            CmdOutputObservation run = (CmdOutputObservation) WireFormat.observationFromJson(
                    "{\"observation\": \"run\", \"content\": \"x\", \"extras\": {\"command\": \"ls\"}}");
            assertThat(run.metadata()).isEqualTo(CmdOutputMetadata.unknown());
            assertThat(tree(WireFormat.toJson(run)).at("/extras/metadata")).isEqualTo(tree("""
                    {"exit_code": -1, "pid": -1, "username": null, "hostname": null, "working_dir": null,
                     "py_interpreter_path": null, "prefix": "", "suffix": ""}
                    """));
        }

        @Test
        void nullObservationEncodesWithEmptyExtras() {
            assertThat(tree(WireFormat.toJson(new NullObservation("")))).isEqualTo(tree("""
                    {"message": "No observation", "observation": "null", "content": "", "extras": {}}
                    """));
        }

        @Test
        void unknownObservationTypeIsRejectedByName() {
            assertThatThrownBy(() -> WireFormat.observationFromJson("{\"observation\": \"mcp\", \"content\": \"\"}"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'mcp'");
        }

        @Test
        void malformedObservationJsonIsRejected() {
            assertThatThrownBy(() -> WireFormat.observationFromJson("not json"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("Malformed JSON");
        }
    }
}
