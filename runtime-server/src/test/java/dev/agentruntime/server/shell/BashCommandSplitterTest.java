package dev.agentruntime.server.shell;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BashCommandSplitterTest {

    /** Splits {@code script} and checks the result, plus that every element is an exact substring. */
    private static void assertSplit(String script, String... expected) {
        List<String> commands = BashCommandSplitter.split(script);
        assertThat(commands).as("split of %s", script).containsExactly(expected);
        for (String command : commands) {
            assertThat(script).contains(command);
        }
    }

    /** Unparseable input comes back whole (trimmed) as a single element. */
    private static void assertWhole(String script) {
        assertSplit(script, script.strip());
    }

    @Nested
    class BlankInputAndComments {

        @Test
        void emptyInputYieldsNoCommands() {
            assertThat(BashCommandSplitter.split("")).isEmpty();
        }

        @Test
        void blankInputYieldsNoCommands() {
            assertThat(BashCommandSplitter.split(" \t\n\n  \n")).isEmpty();
        }

        @Test
        void nullInputYieldsNoCommands() {
            assertThat(BashCommandSplitter.split(null)).isEmpty();
        }

        @Test
        void singleCommandIsTrimmed() {
            assertSplit("   ls -la   \n\n", "ls -la");
        }

        @Test
        void commentOnlyLinesProduceNothing() {
            assertThat(BashCommandSplitter.split("# first\n   # second\n\n#third")).isEmpty();
        }

        @Test
        void commentLinesBetweenCommandsAreDropped() {
            assertSplit("echo a\n# explain b\necho b", "echo a", "echo b");
        }

        @Test
        void trailingCommentStaysWithItsCommand() {
            assertSplit("ls -la  # list files\npwd", "ls -la  # list files", "pwd");
        }

        @Test
        void hashInsideWordIsNotAComment() {
            // If "#b &&" were a comment, the && would not continue the command onto the next line.
            assertSplit("echo a#b &&\necho c", "echo a#b &&\necho c");
        }

        @Test
        void hashInParameterLengthIsNotAComment() {
            assertSplit("x=abc; echo ${#x} $# &&\necho done", "x=abc; echo ${#x} $# &&\necho done");
        }

        @Test
        void quotedOrEscapedHashIsNotAComment() {
            assertSplit("echo '#' \"#\" \\# &&\necho z", "echo '#' \"#\" \\# &&\necho z");
        }

        @Test
        void hashAfterSemicolonStartsAComment() {
            assertSplit("echo a;# comment (\necho b", "echo a;# comment (", "echo b");
        }

        @Test
        void backslashDoesNotContinueAComment() {
            assertSplit("echo a # comment \\\necho b", "echo a # comment \\", "echo b");
        }
    }

    @Nested
    class NewlinesAndLists {

        @Test
        void twoEchoLinesAreTwoCommands() {
            assertSplit("echo hello\necho world", "echo hello", "echo world");
        }

        @Test
        void blankLinesBetweenCommandsAreIgnored() {
            assertSplit("echo a\n\n\n   \necho b\n", "echo a", "echo b");
        }

        @Test
        void semicolonListOnOneLineIsOneCommand() {
            assertSplit("cd /tmp; ls", "cd /tmp; ls");
        }

        @Test
        void semicolonAtEndOfLineStillEndsTheCommand() {
            assertSplit("echo a;\necho b", "echo a;", "echo b");
        }

        @Test
        void andOrListOnOneLineIsOneCommand() {
            assertSplit("make && make test || echo failed", "make && make test || echo failed");
        }

        @Test
        void pipelineIsOneCommand() {
            assertSplit("cat f | grep x |& sort\necho next", "cat f | grep x |& sort", "echo next");
        }

        @Test
        void backgroundCommandFollowedByNothingIsOneCommand() {
            assertSplit("python3 server.py > log 2>&1 &", "python3 server.py > log 2>&1 &");
        }

        @Test
        void backgroundCommandThenNewlineStartsANewCommand() {
            assertSplit("sleep 10 &\necho started", "sleep 10 &", "echo started");
        }

        @Test
        void backgroundListOnOneLineIsOneCommand() {
            assertSplit("a & b &", "a & b &");
        }

        @Test
        void lineEndingWithAndContinuesOnNextLine() {
            assertSplit("cd repo &&\n  git status\necho x", "cd repo &&\n  git status", "echo x");
        }

        @Test
        void lineEndingWithOrContinuesOnNextLine() {
            assertSplit("test -f a ||\n  touch a\necho x", "test -f a ||\n  touch a", "echo x");
        }

        @Test
        void lineEndingWithPipeContinuesOnNextLine() {
            assertSplit("ps aux |\n  grep java\necho x", "ps aux |\n  grep java", "echo x");
        }

        @Test
        void continuationSkipsBlankAndCommentLines() {
            assertSplit("a &&\n\n  # why\n  b\nc", "a &&\n\n  # why\n  b", "c");
        }

        @Test
        void commentAfterContinuationOperatorDoesNotEndTheCommand() {
            assertSplit("a && # then b\n  b\nc", "a && # then b\n  b", "c");
        }

        @Test
        void backslashContinuationJoinsLines() {
            assertSplit("docker run \\\n  --rm \\\n  image\necho done",
                    "docker run \\\n  --rm \\\n  image", "echo done");
        }

        @Test
        void backslashContinuationInsideAWordJoinsLines() {
            assertSplit("ec\\\nho a\necho b", "ec\\\nho a", "echo b");
        }

        @Test
        void crlfLineEndingsSplitLikeBash() {
            assertSplit("echo a\r\n\r\necho b\r\n", "echo a", "echo b");
        }
    }

    @Nested
    class CompoundCommands {

        @Test
        void ifBlockSpanningLinesIsOneCommand() {
            String script = """
                    if [ -f a ]; then
                      echo yes
                    elif [ -f b ]
                    then
                      echo b
                    else
                      echo no
                    fi
                    echo after""";
            assertSplit(script, script.substring(0, script.indexOf("\necho after")), "echo after");
        }

        @Test
        void forLoopSpreadOverLinesFollowedBySecondCommandIsTwoCommands() {
            String loop = """
                    for f in *.txt
                    do
                      echo "$f"
                    done""";
            assertSplit(loop + "\nls -la", loop, "ls -la");
        }

        @Test
        void cStyleForLoopIsOneCommand() {
            String loop = "for ((i = 0; i < 3; i++)); do\n  echo $i\ndone";
            assertSplit(loop + "\necho x", loop, "echo x");
        }

        @Test
        void forLoopWithNewlineBeforeInIsOneCommand() {
            String loop = "for x\nin a b\ndo echo $x; done";
            assertSplit(loop + "\necho y", loop, "echo y");
        }

        @Test
        void selectLoopIsOneCommand() {
            String loop = "select x in a b; do\n  break\ndone";
            assertSplit(loop + "\necho y", loop, "echo y");
        }

        @Test
        void whileAndUntilLoopsAreOneCommandEach() {
            String whileLoop = "while read -r line; do\n  echo \"$line\"\ndone < input.txt";
            String untilLoop = "until curl -s localhost; do\n  sleep 1\ndone";
            assertSplit(whileLoop + "\n" + untilLoop, whileLoop, untilLoop);
        }

        @Test
        void pipelineIntoWhileLoopIsOneCommand() {
            String pipeline = "ls | while read f; do\n  echo \"$f\"\ndone";
            assertSplit(pipeline + "\necho end", pipeline, "echo end");
        }

        @Test
        void nestedLoopsAreOneCommand() {
            String loops = "for i in 1 2; do\n  for j in a b; do\n    echo $i$j\n  done\ndone";
            assertSplit(loops + "\necho end", loops, "echo end");
        }

        @Test
        void caseStatementWithAllItemTerminatorsIsOneCommand() {
            String caseStatement = """
                    case "$1" in
                      -h|--help) echo help ;;
                      (start) echo start ;&
                      stop)
                        echo stop
                        ;;&
                      *) echo other
                    esac""";
            assertSplit(caseStatement + "\necho after", caseStatement, "echo after");
        }

        @Test
        void caseWithEmptyItemAndNewlineBeforeInIsOneCommand() {
            String caseStatement = "case x\nin\n  x) ;;\n  # note\nesac";
            assertSplit(caseStatement + "\necho y", caseStatement, "echo y");
        }

        @Test
        void casePatternsThatLookLikeKeywordsArePlainWords() {
            String caseStatement = "case $w in\n  if|then|done) echo keyword ;;\nesac";
            assertSplit(caseStatement + "\necho y", caseStatement, "echo y");
        }

        @Test
        void caseInsideCommandSubstitutionDoesNotCloseIt() {
            assertSplit("x=$(case $y in a) echo 1;; esac)\necho $x",
                    "x=$(case $y in a) echo 1;; esac)", "echo $x");
        }

        @Test
        void braceGroupIsOneCommand() {
            String group = "{\n  echo a\n  echo b\n} > out.txt";
            assertSplit(group + "\necho c", group, "echo c");
        }

        @Test
        void braceGroupAfterOrIsOneCommand() {
            String command = "[ -d build ] || {\n  mkdir build\n}";
            assertSplit(command + "\necho c", command, "echo c");
        }

        @Test
        void subshellIsOneCommand() {
            String subshell = "(\n  cd /tmp\n  ls\n)";
            assertSplit(subshell + "\npwd", subshell, "pwd");
        }

        @Test
        void functionDefinitionWithParensIsOneCommand() {
            String function = "greet() {\n  echo \"hi $1\"\n}";
            assertSplit(function + "\ngreet bob", function, "greet bob");
        }

        @Test
        void functionDefinitionWithBodyOnNextLineIsOneCommand() {
            String function = "greet()\n{\n  echo hi\n}";
            assertSplit(function + "\ngreet", function, "greet");
        }

        @Test
        void functionDefinitionWithKeywordIsOneCommand() {
            String function = "function greet {\n  echo hi\n}";
            assertSplit(function + "\ngreet", function, "greet");
        }

        @Test
        void functionDefinitionWithKeywordAndParensIsOneCommand() {
            String function = "function greet() {\n  echo hi\n}";
            assertSplit(function + "\ngreet", function, "greet");
        }

        @Test
        void functionWithSubshellBodyIsOneCommand() {
            String function = "inTmp() (\n  cd /tmp\n  \"$@\"\n)";
            assertSplit(function + "\ninTmp ls", function, "inTmp ls");
        }

        @Test
        void doubleBracketConditionSpanningLinesIsOneCommand() {
            String test = "[[ -n $a &&\n   -n $b ]] && echo both";
            assertSplit(test + "\necho x", test, "echo x");
        }

        @Test
        void doubleBracketRegexWithParenthesesAndPipeIsOneCommand() {
            assertSplit("[[ $x =~ ^(a|b)+$ ]] && echo match\necho x",
                    "[[ $x =~ ^(a|b)+$ ]] && echo match", "echo x");
        }

        @Test
        void arithmeticCommandIsOneCommand() {
            assertSplit("(( count > 1 )) && echo many\necho x", "(( count > 1 )) && echo many", "echo x");
        }

        @Test
        void arithmeticShiftIsNotAHeredoc() {
            assertSplit("((x = 1 << 2))\necho $x", "((x = 1 << 2))", "echo $x");
        }

        @Test
        void compoundCommandsOnOneLineWithSemicolonAreOneCommand() {
            assertSplit("if true; then echo a; fi; for i in 1; do echo $i; done",
                    "if true; then echo a; fi; for i in 1; do echo $i; done");
        }
    }

    @Nested
    class Keywords {

        @Test
        void keywordInArgumentPositionIsPlainWord() {
            assertSplit("echo if\necho done\necho then fi esac }",
                    "echo if", "echo done", "echo then fi esac }");
        }

        @Test
        void quotedKeywordIsNotAKeyword() {
            assertSplit("'if' --version\n\"done\"", "'if' --version", "\"done\"");
        }

        @Test
        void loopVariableNamedLikeKeywordIsPlainWord() {
            String loop = "for done in a b; do echo $done; done";
            assertSplit(loop + "\necho x", loop, "echo x");
        }

        @Test
        void keywordAfterAssignmentIsPlainWord() {
            // bash stops recognising reserved words after "a=1"; "if" is then a command name.
            assertSplit("a=1 if\necho x", "a=1 if", "echo x");
        }

        @Test
        void keywordRightAfterClosingParenthesisIsRecognised() {
            String ifBlock = "if (true) then\n  echo t\nfi";
            assertSplit(ifBlock + "\necho x", ifBlock, "echo x");
        }

        @Test
        void braceInsideWordDoesNotOpenAGroup() {
            assertSplit("echo {a,b}\necho }", "echo {a,b}", "echo }");
        }

        @Test
        void keywordAfterPipeIsRecognised() {
            String pipeline = "seq 3 | while read n\ndo\n  echo $n\ndone";
            assertSplit(pipeline + "\necho x", pipeline, "echo x");
        }
    }

    @Nested
    class QuotesAndExpansions {

        @Test
        void singleQuotedStringSpanningLinesIsOneCommand() {
            assertSplit("echo 'line one\nline two'\necho x", "echo 'line one\nline two'", "echo x");
        }

        @Test
        void doubleQuotedStringSpanningLinesIsOneCommand() {
            assertSplit("echo \"line one\nline two\"\necho x", "echo \"line one\nline two\"", "echo x");
        }

        @Test
        void escapedQuoteInsideDoubleQuotesDoesNotEndTheString() {
            assertSplit("echo \"say \\\"hi\n\\\" twice\"\necho x", "echo \"say \\\"hi\n\\\" twice\"", "echo x");
        }

        @Test
        void escapedBackslashBeforeClosingQuoteEndsTheString() {
            assertSplit("echo \"a\\\\\" \"b\nc\"\necho d", "echo \"a\\\\\" \"b\nc\"", "echo d");
        }

        @Test
        void pythonDashCMultilineStringIsOneCommand() {
            String python = """
                    python3 -c "
                    import sys
                    print('hi # not a comment')
                    for a in sys.argv:
                        print(a)
                    \"""";
            assertSplit(python + "\necho done", python, "echo done");
        }

        @Test
        void pythonDashCWithSingleQuotedMultilineCodeIsOneCommand() {
            String python = "python -c 'import os\nprint(\"x\")\n# comment\n'";
            assertSplit(python + "\necho done", python, "echo done");
        }

        @Test
        void ansiCQuotedStringSpanningLinesIsOneCommand() {
            String printf = "printf $'it\\'s\\n\nnext line'";
            assertSplit(printf + "\necho x", printf, "echo x");
        }

        @Test
        void localeQuotedStringSpanningLinesIsOneCommand() {
            assertSplit("echo $\"a\nb\"\necho x", "echo $\"a\nb\"", "echo x");
        }

        @Test
        void commandSubstitutionSpanningLinesIsOneCommand() {
            String assignment = "files=$(\n  ls -1 |\n  wc -l\n)";
            assertSplit(assignment + "\necho $files", assignment, "echo $files");
        }

        @Test
        void nestedCommandSubstitutionWithQuotesInsideIsOneCommand() {
            String echo = "echo \"$(echo \"a $(echo ')' \"b\")\nc\")\" \")\"";
            assertSplit(echo + "\necho next", echo, "echo next");
        }

        @Test
        void parenthesisInsideQuotesInCommandSubstitutionDoesNotCloseIt() {
            assertSplit("x=$(echo \")\" ')' \\))\necho $x", "x=$(echo \")\" ')' \\))", "echo $x");
        }

        @Test
        void commentInsideCommandSubstitutionHidesParenthesis() {
            assertSplit("x=$(echo a # )\n)\necho $x", "x=$(echo a # )\n)", "echo $x");
        }

        @Test
        void backticksSpanningLinesAreOneCommand() {
            assertSplit("echo `ls\n-la`\necho x", "echo `ls\n-la`", "echo x");
        }

        @Test
        void escapedBacktickInsideBackticksDoesNotEndThem() {
            assertSplit("echo `echo \\`echo x\\``\necho y", "echo `echo \\`echo x\\``", "echo y");
        }

        @Test
        void parameterExpansionWithQuotedBraceIsOneWord() {
            assertSplit("echo ${x:-\"}\"} ${y:-'}'}\necho z", "echo ${x:-\"}\"} ${y:-'}'}", "echo z");
        }

        @Test
        void bareBraceInsideParameterExpansionDoesNotNest() {
            // bash reads ${x:-{} as a complete expansion: the inner { is literal.
            assertSplit("echo ${x:-{}\necho z", "echo ${x:-{}", "echo z");
        }

        @Test
        void arithmeticExpansionSpanningLinesIsOneCommand() {
            assertSplit("echo $(( (1 + 2) *\n 3 ))\necho z", "echo $(( (1 + 2) *\n 3 ))", "echo z");
        }

        @Test
        void dollarParenParenThatIsNotArithmeticIsACommandSubstitution() {
            assertSplit("echo $((cd /tmp) && pwd)\necho z", "echo $((cd /tmp) && pwd)", "echo z");
        }

        @Test
        void processSubstitutionSpanningLinesIsOneCommand() {
            String diff = "diff <(sort a\n) <(sort b)";
            assertSplit(diff + "\necho z", diff, "echo z");
        }

        @Test
        void arrayLiteralSpanningLinesWithCommentsIsOneCommand() {
            String array = "arr=(\n  one\n  two # a comment with )\n  'three four'\n)";
            assertSplit(array + "\necho ${arr[@]}", array, "echo ${arr[@]}");
        }

        @Test
        void extglobPatternIsOneWord() {
            assertSplit("ls !(*.o|*.a)\necho z", "ls !(*.o|*.a)", "echo z");
        }
    }

    @Nested
    class Heredocs {

        @Test
        void heredocBodyWithBlankLinesIsOneCommand() {
            String heredoc = "cat <<EOF\nfirst\n\n\nlast\nEOF";
            assertSplit(heredoc + "\necho after", heredoc, "echo after");
        }

        @Test
        void quotedHeredocWritingPythonWithQuotesAndHashesIsOneCommand() {
            String heredoc = """
                    cat <<'EOF' > f.py
                    import os
                    # a comment with an unbalanced ' quote and a ( paren
                    print("it's # not a comment")
                    x = 'a' if os.sep == "/" else "b"
                    if True:
                        print(f"{x!r}")
                    EOF""";
            assertSplit(heredoc + "\npython3 f.py", heredoc, "python3 f.py");
        }

        @Test
        void heredocBodyThatLooksLikeShellIsNotParsed() {
            String heredoc = "cat <<EOF\nif then fi ) ( 'unbalanced \" quote `\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void doubleQuotedDelimiterIsRecognised() {
            String heredoc = "cat <<\"EOF\"\n$HOME\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void backslashQuotedAndPartlyQuotedDelimitersAreRecognised() {
            String first = "cat <<\\END\nx\nEND";
            String second = "cat <<E\"O\"F\ny\nEOF";
            assertSplit(first + "\n" + second + "\necho z", first, second, "echo z");
        }

        @Test
        void dashHeredocAllowsLeadingTabsBeforeDelimiter() {
            String heredoc = "cat <<-EOF\n\tindented body\n\t\tEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void dashHeredocDoesNotAllowLeadingSpacesBeforeDelimiter() {
            String heredoc = "cat <<-EOF\n  EOF\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void plainHeredocRequiresDelimiterAtStartOfLine() {
            String heredoc = "cat <<EOF\n\tEOF\n  EOF\nEOF ";
            assertSplit(heredoc + "\nEOF\necho x", heredoc + "\nEOF", "echo x");
        }

        @Test
        void delimiterMustMatchTheWholeLine() {
            String heredoc = "cat <<EOF\nEOF2\nxEOF\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void severalHeredocsOnOneLineAreReadInOrder() {
            String heredocs = "paste <<A <<'B'\n1\nA\n2\nB";
            assertSplit(heredocs + "\necho x", heredocs, "echo x");
        }

        @Test
        void heredocsOfTwoCommandsInOneListAreOneCommand() {
            String list = "cat <<A; cat <<B\na\nA\nb\nB";
            assertSplit(list + "\necho x", list, "echo x");
        }

        @Test
        void heredocLineEndingWithAndContinuesAfterTheBody() {
            String command = "cat <<EOF | grep a &&\nabc\nEOF\necho found";
            assertSplit(command + "\necho next", command, "echo next");
        }

        @Test
        void heredocAsLoopInputIsOneCommand() {
            String loop = "while read l; do\n  echo $l\ndone <<EOF\na\nb\nEOF";
            assertSplit(loop + "\necho end", loop, "echo end");
        }

        @Test
        void heredocInsideCompoundCommandIsOneCommand() {
            String function = "f() {\n  cat <<EOF\nin function\n}\nEOF\n}";
            assertSplit(function + "\nf", function, "f");
        }

        @Test
        void heredocInsideCommandSubstitutionIsOneCommand() {
            String assignment = "x=$(cat <<EOF\na)\nEOF\n)";
            assertSplit(assignment + "\necho $x", assignment, "echo $x");
        }

        @Test
        void heredocWithCommentOnItsFirstLineIsOneCommand() {
            String heredoc = "cat <<EOF > out.txt # write it\nbody\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void heredocAtEndOfInputWithoutTrailingNewlineIsComplete() {
            assertSplit("echo a\ncat <<EOF\nlast\nEOF", "echo a", "cat <<EOF\nlast\nEOF");
        }

        @Test
        void emptyDelimiterEndsAtFirstEmptyLine() {
            String heredoc = "cat <<''\nx\n";
            assertSplit(heredoc + "\necho y", heredoc.strip(), "echo y");
        }

        @Test
        void hereStringIsNotAHeredoc() {
            assertSplit("cat <<< \"x\ny\"\necho EOF", "cat <<< \"x\ny\"", "echo EOF");
        }

        @Test
        void unquotedHeredocJoinsBackslashContinuedLinesBeforeMatchingDelimiter() {
            // bash joins "foo \" with the next line, so that "EOF" line does not end the body.
            String heredoc = "cat <<EOF\nfoo \\\nEOF\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void unquotedHeredocEscapedBackslashDoesNotContinueTheLine() {
            String heredoc = "cat <<EOF\nfoo \\\\\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }

        @Test
        void quotedHeredocDoesNotJoinBackslashLines() {
            String heredoc = "cat <<'EOF'\nfoo \\\nEOF";
            assertSplit(heredoc + "\necho x", heredoc, "echo x");
        }
    }

    @Nested
    class UnparseableInput {

        @ParameterizedTest
        @ValueSource(strings = {
            "echo 'unterminated\necho b",
            "echo \"unterminated\necho b",
            "echo $'unterminated\necho b",
            "echo `unterminated\necho b",
            "echo $(unterminated\necho b",
            "echo ${unterminated\necho b",
            "arr=(unterminated\necho b",
        })
        void unterminatedQuoteOrExpansionReturnsWholeInput(String script) {
            assertWhole(script);
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "if true; then\n  echo a\necho b",
            "echo a\nfi\necho b",
            "for i in 1 2; do\n  echo $i\n",
            "echo a\ndone",
            "{ echo a\necho b",
            "echo a; }\necho b",
            "(echo a\necho b",
            "echo a )\necho b",
            "case x in\n  x) echo x;;\necho b",
            "[[ -n x\necho b",
            "if then fi\necho b",
            "{ }\necho b",
        })
        void unbalancedStructureReturnsWholeInput(String script) {
            assertWhole(script);
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "echo a |",
            "echo a &&",
            "echo a\n&& echo b",
            "echo a\n| cat",
            "; echo a\necho b",
            "echo a ;; echo b\necho c",
            "echo a >\necho b",
            "f() echo a\necho b",
        })
        void danglingOrMisplacedOperatorReturnsWholeInput(String script) {
            assertWhole(script);
        }

        @ParameterizedTest
        @ValueSource(strings = {
            "cat <<EOF\nbody\necho b",
            "echo a\ncat <<EOF",
            "cat <<EOF\nbody\n EOF",
            "cat <<\necho b",
        })
        void unterminatedOrMissingHeredocReturnsWholeInput(String script) {
            assertWhole(script);
        }

        @Test
        void wholeInputFallbackIsTrimmed() {
            assertSplit("\n\n  echo 'oops\n\n", "echo 'oops");
        }

        @Test
        void randomInputNeverThrowsAndSplitsIntoStandaloneSubstrings() {
            String[] fragments = {
                "echo a", "if true; then", "then", "fi", "for i in 1; do", "done", "case a in", "a)", ";;",
                "esac", "{", "}", "(", ")", "((", "))", "[[", "]]", "'", "\"", "`", "$(", "${", "$((", "$'",
                "\\", "#", "&&", "||", "|", ";", "&", "<<EOF", "<<-X", "EOF", "\tX", "<<<", "=(", "f()",
                "function", "\n", "\n", "\n", " ", " ", "\t", "$", "!", "x=1", "\\\n", "\r\n",
            };
            Random random = new Random(42);
            for (int i = 0; i < 20_000; i++) {
                StringBuilder script = new StringBuilder();
                int parts = 1 + random.nextInt(12);
                for (int p = 0; p < parts; p++) {
                    script.append(fragments[random.nextInt(fragments.length)]);
                    if (random.nextBoolean()) {
                        script.append(' ');
                    }
                }
                String input = script.toString();
                List<String> commands = new ArrayList<>();
                assertThatCode(() -> commands.addAll(BashCommandSplitter.split(input)))
                        .as("split of %s", input)
                        .doesNotThrowAnyException();
                for (String command : commands) {
                    assertThat(command).as("element of %s", input).isNotBlank().isEqualTo(command.strip());
                    assertThat(input).contains(command);
                    if (commands.size() > 1) {
                        // A real split (not the whole-input fallback): each element is a command on its own.
                        assertThat(BashCommandSplitter.split(command)).as("re-split of %s", command)
                                .containsExactly(command);
                    }
                }
            }
        }
    }

    @Nested
    class LargeInputs {

        @Test
        void oneMegabyteHeredocIsSplitWithoutBlowup() {
            StringBuilder script = new StringBuilder("cat <<'EOF' > data.py\n");
            for (int i = 0; i < 50_000; i++) {
                script.append("print('row ").append(i).append("', \"x\")  # (").append('\n');
            }
            script.append("EOF\necho done");
            String input = script.toString();
            assertThat(input.length()).isGreaterThan(1_000_000);

            List<String> commands = BashCommandSplitter.split(input);

            assertThat(commands).hasSize(2);
            assertThat(commands.get(0)).startsWith("cat <<'EOF'").endsWith("\nEOF");
            assertThat(commands.get(1)).isEqualTo("echo done");
        }

        @Test
        void fiftyThousandCommandsAreSplitIndividually() {
            StringBuilder script = new StringBuilder();
            for (int i = 0; i < 50_000; i++) {
                script.append("echo ").append(i).append(" && true\n");
            }
            List<String> commands = BashCommandSplitter.split(script.toString());
            assertThat(commands).hasSize(50_000);
            assertThat(commands.get(49_999)).isEqualTo("echo 49999 && true");
        }

        @Test
        void oneMegabyteQuotedStringIsOneCommand() {
            String script = "python3 -c \"\n" + "print('x')  # $HOME\n".repeat(60_000) + "\"";
            assertThat(BashCommandSplitter.split(script)).containsExactly(script);
        }

        @Test
        void deeplyNestedCommandSubstitutionFallsBackInsteadOfOverflowingTheStack() {
            String script = "echo " + "$(".repeat(100_000) + ")".repeat(100_000) + "\necho b";
            assertThat(BashCommandSplitter.split(script)).containsExactly(script);
        }

        @Test
        void pathologicalArithmeticNestingReturnsAResult() {
            String unterminated = "echo " + "$((".repeat(50_000) + "1\necho b";
            String balanced = "echo " + "$(( (".repeat(30_000) + "1" + ") ))".repeat(30_000) + "\necho b";
            assertThat(BashCommandSplitter.split(unterminated)).containsExactly(unterminated);
            assertThat(BashCommandSplitter.split(balanced)).hasSize(2);
        }

        @Test
        void manyHeredocsOnOneLineAreReadInOrder() {
            String script = "cat" + " <<A".repeat(20_000) + "\n" + "A\n".repeat(20_000) + "echo b";
            assertThat(BashCommandSplitter.split(script)).hasSize(2).last().isEqualTo("echo b");
        }
    }
}
