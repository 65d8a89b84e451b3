package dev.agentruntime.server.files;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The editor's {@code view} of a directory. OHEditor shells out to
 * {@code find -L <dir> -maxdepth 2 -not ( -path '<dir>/.*' -o -path '<dir>/*}{@code /.*' ) | sort}, marks directories
 * with a trailing {@code /} and counts hidden entries with {@code find -L <dir> -mindepth 1 -maxdepth 1 -name '.*'};
 * we walk the same two levels in-process. {@code sort} is taken to run in the C locale (byte order), as in the
 * OpenHands runtime image.
 */
final class DirectoryListing {

    private DirectoryListing() {
    }

    /** The listing text, or throws with {@code find}'s complaint about a directory it could not read. */
    static String render(String dir) throws EditorException {
        Path root = Path.of(dir);
        List<String> found = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        found.add(dir);
        int hidden = 0;
        for (Path child : children(root, dir, errors)) {
            String name = child.getFileName().toString();
            if (name.startsWith(".")) {
                hidden++;
                continue;
            }
            String childPath = childOf(dir, name);
            found.add(childPath);
            if (Files.isDirectory(child)) {
                for (Path grandChild : children(child, childPath, errors)) {
                    String grandName = grandChild.getFileName().toString();
                    if (!grandName.startsWith(".")) {
                        found.add(childOf(childPath, grandName));
                    }
                }
            }
        }
        if (!errors.isEmpty()) {
            throw new EditorException(String.join("\n", errors));
        }
        found.sort(DirectoryListing::compareBytes);

        String stdout = FileEditor.maybeTruncate(String.join("\n", found) + "\n", FileEditor.DIRECTORY_TRUNCATED_NOTICE);
        String trimmed = Py.strip(stdout);
        List<String> formatted = new ArrayList<>();
        if (!trimmed.isEmpty()) {
            for (String p : trimmed.split("\n", -1)) {
                formatted.add(Py.fs(p).map(Files::isDirectory).orElse(false) ? p + "/" : p);
            }
        }
        String text = "Here's the files and directories up to 2 levels deep in " + dir + ", excluding hidden items:\n"
                + String.join("\n", formatted);
        if (hidden > 0) {
            text += "\n\n" + hidden + " hidden files/directories in this directory are excluded. You can use 'ls -la "
                    + dir + "' to see them.";
        }
        return text;
    }

    private static List<Path> children(Path dir, String shown, List<String> errors) {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(out::add);
        } catch (AccessDeniedException e) {
            errors.add("find: '" + shown + "': Permission denied");
        } catch (IOException e) {
            errors.add("find: '" + shown + "': " + e.getMessage());
        }
        return out;
    }

    private static String childOf(String parent, String name) {
        return parent.endsWith("/") ? parent + name : parent + "/" + name;
    }

    /** {@code sort} under LC_ALL=C: unsigned byte order of the UTF-8 encoding. */
    private static int compareBytes(String x, String y) {
        return Arrays.compareUnsigned(x.getBytes(StandardCharsets.UTF_8), y.getBytes(StandardCharsets.UTF_8));
    }
}
