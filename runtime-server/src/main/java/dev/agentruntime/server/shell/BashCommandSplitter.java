package dev.agentruntime.server.shell;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Splits a bash script into its top-level commands, the way bash itself (and bashlex, which OpenHands
 * uses for the same purpose) sees them: one element per complete command that ends at a newline.
 *
 * <p>What stays one element, even across lines: lists ({@code a; b}, {@code a && b}, {@code a || b},
 * {@code a & b}), pipelines, a line ending in {@code &&}, {@code ||}, {@code |} or a backslash,
 * compound commands ({@code if}, {@code for}, {@code select}, {@code while}, {@code until},
 * {@code case}, <code>{ …; }</code>, {@code ( … )}, {@code (( … ))}, {@code [[ … ]]}), function
 * definitions, quoted strings ({@code '…'}, {@code "…"}, {@code $'…'}, {@code $"…"}), expansions
 * ({@code $( … )}, backticks, <code>${ … }</code>, {@code $(( … ))}, {@code <( … )}), array
 * literals {@code a=( … )} and here-documents (the body runs until the delimiter line).
 * Blank lines and comment-only lines produce nothing.
 *
 * <p>Each element is the exact substring of the input from the command's first token to its end
 * (its last token, the end of its last here-document, or a comment on its last line), stripped of
 * surrounding whitespace. If the input is not valid bash as far as this scanner can tell (an
 * unterminated quote or here-document, an unbalanced keyword or parenthesis, …) the result is the
 * whole input, stripped, as a single element: the method never throws. Blank input gives an empty
 * list.
 *
 * <p>Implementation: a hand-written scanner in two layers. The lexer ({@link Scanner}) cuts words
 * and operators, skipping over quotes and expansions, and reads here-document bodies when it meets
 * the newline that ends their line. The {@link Grammar} tracks just enough of bash's grammar to know
 * whether a newline ends the current command: the stack of open compound commands, whether the
 * next word is in command position (reserved words only count there) and whether an operator such
 * as {@code &&} is waiting for its right-hand side. Command substitutions are parsed recursively
 * with a fresh {@link Grammar}, as bash does. Every loop only moves forward, so the running time is
 * linear in the input (arithmetic look-ahead has a budget that keeps it so); nesting depth is
 * capped.
 *
 * <p>Known gaps (rare in practice): aliases are not expanded; {@code for x in a; { …; }} (brace
 * body instead of {@code do}) and {@code coproc NAME { …; }} are treated as syntax errors; the
 * contents of {@code [[ … ]]}, {@code (( … ))} and backquotes are skimmed, not checked; the parser
 * is more lenient than bash on some invalid input (extglob patterns such as {@code @(a|b)} and
 * {@code name=( … )} are accepted in any word), which can only affect scripts bash would reject.
 * A here-document that reaches the end of input without its delimiter is treated as an error
 * (bash only warns). Carriage returns are ordinary word characters, as in bash, so a CRLF script
 * splits into its lines but its reserved words ({@code then\r}) are not recognised.
 */
public final class BashCommandSplitter {

    private BashCommandSplitter() {
    }

    /**
     * Returns the top-level commands of {@code command} in order; see the class comment.
     *
     * @param command a bash script, possibly spanning several lines; {@code null} is treated as empty
     * @return an unmodifiable list, empty for blank input, the whole input as one element if it cannot
     *     be parsed
     */
    public static List<String> split(String command) {
        if (command == null || command.isBlank()) {
            return List.of();
        }
        try {
            return List.copyOf(new Scanner(command).splitTopLevel());
        } catch (SyntaxError e) {
            return List.of(command.strip());
        } catch (RuntimeException e) {
            // Defensive: a scanner bug must never break the caller; treat it like unparseable input.
            return List.of(command.strip());
        }
    }

    // ------------------------------------------------------------------------------------------
    // Tokens
    // ------------------------------------------------------------------------------------------

    private enum Kind {
        /** A word, including everything quoted or substituted inside it. */
        WORD,
        /** An arithmetic command {@code (( … ))} (also the header of {@code for (( … ))}). */
        ARITH,
        NEWLINE,
        EOF,
        /** {@code &&} */
        AND_IF,
        /** {@code ||} */
        OR_IF,
        /** {@code |} or {@code |&} */
        PIPE,
        /** {@code &} */
        AMP,
        /** {@code ;} */
        SEMI,
        /** {@code ;;}, {@code ;&} or {@code ;;&}: end of a case item */
        CASE_END,
        LPAREN,
        RPAREN,
        /** {@code <<} or {@code <<-}: the next word is a here-document delimiter */
        HEREDOC,
        /** Any other redirection operator: the next word is its target. */
        REDIR
    }

    /**
     * A token is a range of the input. {@code stripTabs} marks {@code <<-}; {@code heredocEnd} is,
     * for a NEWLINE that was followed by here-document bodies, the end of the last delimiter line.
     */
    private record Token(Kind kind, int start, int end, boolean stripTabs, int heredocEnd) {
        Token(Kind kind, int start, int end) {
            this(kind, start, end, false, -1);
        }
    }

    private record Heredoc(String delimiter, boolean stripTabs, boolean quoted) {
    }

    /** Thrown (without a stack trace, it is control flow) when the input is not valid bash. */
    private static final class SyntaxError extends RuntimeException {
        SyntaxError(String message) {
            super(message, null, false, false);
        }
    }

    // ------------------------------------------------------------------------------------------
    // Grammar state: where in a compound command we are
    // ------------------------------------------------------------------------------------------

    /** One open compound command and which part of it is being read. */
    private enum Phase {
        IF_CONDITION, IF_THEN_BODY, IF_ELSE_BODY,
        /** {@code while}/{@code until} condition; {@code for}/{@code select} also end in LOOP_BODY. */
        LOOP_CONDITION, LOOP_BODY,
        /** {@code for NAME in WORDS ; do}: the header is words, not commands. */
        FOR_NAME, FOR_AFTER_NAME, FOR_WORDS, FOR_EXPECT_DO,
        /** {@code case WORD in PATTERN) BODY ;; … esac} */
        CASE_WORD, CASE_EXPECT_IN, CASE_PATTERN_START, CASE_PATTERN_WORD, CASE_PATTERN_NEXT, CASE_BODY,
        BRACE_GROUP, SUBSHELL,
        /** {@code [[ … ]]}: everything up to the {@code ]]} word is skimmed. */
        CONDITIONAL;

        boolean isLoopOrCaseHeader() {
            switch (this) {
                case FOR_NAME, FOR_AFTER_NAME, FOR_WORDS, FOR_EXPECT_DO,
                     CASE_WORD, CASE_EXPECT_IN, CASE_PATTERN_START, CASE_PATTERN_WORD, CASE_PATTERN_NEXT:
                    return true;
                default:
                    return false;
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // The scanner (lexer + top-level driver)
    // ------------------------------------------------------------------------------------------

    private static final class Scanner {
        /** Reserved words that may directly follow a closed compound command, e.g. "if (a) then". */
        private static final String[] CONTINUING_KEYWORDS = {
            "then", "elif", "else", "fi", "do", "done", "esac", "}",
        };

        /** Maximum nesting of $( ), ${ }, quotes inside them, … before we give up (stack safety). */
        private static final int MAX_NESTING = 200;

        private final String src;
        private final int len;
        private int pos;
        /** Here-documents whose delimiter was seen; their bodies start after the next newline token. */
        private final Deque<Heredoc> pendingHeredocs = new ArrayDeque<>();
        private int nesting;
        /** Characters that speculative arithmetic scans may still read (they can be retried). */
        private long arithmeticBudget;
        /** End of the comment skipped just before the current token, or -1. */
        private int commentEnd = -1;

        Scanner(String src) {
            this.src = src;
            this.len = src.length();
            this.arithmeticBudget = 4L * len + 10_000;
        }

        List<String> splitTopLevel() {
            List<String> commands = new ArrayList<>();
            Grammar grammar = new Grammar(false);
            int start = -1;
            int end = -1;
            while (true) {
                Token t = nextToken(grammar.arithmeticAllowed());
                if (t.kind() == Kind.NEWLINE || t.kind() == Kind.EOF) {
                    if (start >= 0) {
                        // A comment on the command's last line belongs to it; so do here-document bodies.
                        end = Math.max(end, Math.max(commentEnd, t.heredocEnd()));
                    }
                    if (t.kind() == Kind.EOF) {
                        if (!grammar.isComplete() || !pendingHeredocs.isEmpty()) {
                            throw new SyntaxError("unexpected end of input");
                        }
                        if (start >= 0) {
                            addCommand(commands, start, end);
                        }
                        return commands;
                    }
                    grammar.newline();
                    if (start >= 0 && grammar.isComplete()) {
                        addCommand(commands, start, end);
                        start = -1;
                    }
                    continue;
                }
                if (start < 0) {
                    start = t.start();
                }
                end = t.end();
                grammar.accept(t);
            }
        }

        private void addCommand(List<String> commands, int start, int end) {
            String command = src.substring(start, end).strip();
            // A lone carriage return (a blank line of a CRLF script) is a word to bash, but no command.
            if (!command.isEmpty()) {
                commands.add(command);
            }
        }

        // ---------------------------------------------------------------- lexer: tokens

        private char at(int i) {
            return i < len ? src.charAt(i) : '\0';
        }

        private Token operator(Kind kind, int length) {
            int start = pos;
            pos += length;
            return new Token(kind, start, pos);
        }

        /**
         * Reads the next token. {@code arithmeticAllowed} tells whether {@code ((} here opens an
         * arithmetic command (only in command position) rather than two parentheses.
         */
        Token nextToken(boolean arithmeticAllowed) {
            skipBlanksAndComments();
            if (pos >= len) {
                return new Token(Kind.EOF, len, len);
            }
            int start = pos;
            char next = at(pos + 1);
            switch (src.charAt(pos)) {
                case '\n': {
                    pos++;
                    // Bash reads pending here-document bodies as soon as it has read the newline that
                    // ends the line holding their `<<` operators.
                    int heredocEnd = pendingHeredocs.isEmpty() ? -1 : readHeredocBodies();
                    return new Token(Kind.NEWLINE, start, start + 1, false, heredocEnd);
                }
                case '&':
                    if (next == '&') {
                        return operator(Kind.AND_IF, 2);
                    }
                    if (next == '>') { // &> and &>>
                        return operator(Kind.REDIR, at(pos + 2) == '>' ? 3 : 2);
                    }
                    return operator(Kind.AMP, 1);
                case '|':
                    if (next == '|') {
                        return operator(Kind.OR_IF, 2);
                    }
                    return operator(Kind.PIPE, next == '&' ? 2 : 1);
                case ';':
                    if (next == ';') {
                        return operator(Kind.CASE_END, at(pos + 2) == '&' ? 3 : 2);
                    }
                    return next == '&' ? operator(Kind.CASE_END, 2) : operator(Kind.SEMI, 1);
                case '(':
                    if (arithmeticAllowed && next == '(') {
                        int end = scanArithmetic(pos + 2);
                        if (end >= 0) {
                            pos = end;
                            return new Token(Kind.ARITH, start, end);
                        }
                        // Not arithmetic after all (e.g. "((a) )"): nested subshells.
                    }
                    return operator(Kind.LPAREN, 1);
                case ')':
                    return operator(Kind.RPAREN, 1);
                case '<':
                    if (next == '(') {
                        return readWord(); // process substitution <( … )
                    }
                    if (next == '<') {
                        char third = at(pos + 2);
                        if (third == '<') {
                            return operator(Kind.REDIR, 3); // here-string <<<
                        }
                        int length = third == '-' ? 3 : 2;
                        pos += length;
                        return new Token(Kind.HEREDOC, start, pos, third == '-', -1);
                    }
                    return operator(Kind.REDIR, next == '&' || next == '>' ? 2 : 1);
                case '>':
                    if (next == '(') {
                        return readWord(); // process substitution >( … )
                    }
                    return operator(Kind.REDIR, next == '>' || next == '&' || next == '|' ? 2 : 1);
                default:
                    return readWord();
            }
        }

        /** Skips blanks, backslash-newline continuations and comments. */
        private void skipBlanksAndComments() {
            commentEnd = -1;
            while (pos < len) {
                char c = src.charAt(pos);
                if (c == ' ' || c == '\t') {
                    pos++;
                } else if (c == '\\' && at(pos + 1) == '\n') {
                    pos += 2; // line continuation: bash removes the pair entirely
                } else if (c == '#') {
                    // We are at the start of a word, so '#' starts a comment (it does not inside a word
                    // such as a#b or ${#x}). A comment ends at the newline, even after a backslash.
                    int newline = src.indexOf('\n', pos);
                    pos = newline < 0 ? len : newline;
                    commentEnd = pos;
                } else {
                    return;
                }
            }
        }

        private Token readWord() {
            int start = pos;
            scanWord(start, false);
            if (pos == start) {
                throw new SyntaxError("unexpected character");
            }
            return new Token(Kind.WORD, start, pos);
        }

        /**
         * Advances over one word starting at {@code start}: up to the first unquoted metacharacter
         * (blank, newline, {@code ; & | < > ( )}), skipping quoted parts and expansions whole.
         * In an array literal ({@code arrayElement}) nested array literals are not recognised.
         */
        private void scanWord(int start, boolean arrayElement) {
            while (pos < len) {
                char c = src.charAt(pos);
                switch (c) {
                    case ' ', '\t', '\n', ';', '&', '|', ')' -> {
                        return;
                    }
                    case '<', '>' -> {
                        if (pos == start && at(pos + 1) == '(') {
                            pos += 2;
                            parseCommandSubstitution(); // process substitution
                        } else {
                            return;
                        }
                    }
                    case '(' -> {
                        if (pos > start && isExtglobOperator(src.charAt(pos - 1))) {
                            scanExtglobGroup(); // @(a|b), *(x), !(y), …
                        } else if (!arrayElement && assignmentPrefixEnd(start, pos) == pos) {
                            scanArrayLiteral(); // name=( … ) or name+=( … )
                        } else {
                            return;
                        }
                    }
                    case '\\' -> pos = Math.min(pos + 2, len); // escapes the next char, newline included
                    case '\'' -> scanSingleQuoted();
                    case '"' -> scanDoubleQuoted();
                    case '`' -> scanBackquoted();
                    case '$' -> scanDollar(false);
                    default -> pos++;
                }
            }
        }

        private static boolean isExtglobOperator(char c) {
            return c == '?' || c == '*' || c == '+' || c == '@' || c == '!';
        }

        // ---------------------------------------------------------------- lexer: quotes & expansions

        private void enter() {
            if (++nesting > MAX_NESTING) {
                throw new SyntaxError("nesting too deep");
            }
        }

        private void leave() {
            nesting--;
        }

        /** At {@code '}: nothing is special up to the next {@code '}. */
        private void scanSingleQuoted() {
            int close = src.indexOf('\'', pos + 1);
            if (close < 0) {
                throw new SyntaxError("unterminated single quote");
            }
            pos = close + 1;
        }

        /** After {@code $'}: like single quotes, but {@code \'} is an escaped quote. */
        private void scanAnsiCQuotedBody() {
            while (pos < len) {
                char c = src.charAt(pos);
                if (c == '\\') {
                    pos += 2;
                } else if (c == '\'') {
                    pos++;
                    return;
                } else {
                    pos++;
                }
            }
            throw new SyntaxError("unterminated $' string");
        }

        /** At {@code "}: backslash escapes, and $…/backquote expansions nest (with their own quotes). */
        private void scanDoubleQuoted() {
            enter();
            pos++;
            while (pos < len) {
                char c = src.charAt(pos);
                switch (c) {
                    case '"' -> {
                        pos++;
                        leave();
                        return;
                    }
                    case '\\' -> pos += 2;
                    case '`' -> scanBackquoted();
                    case '$' -> scanDollar(true);
                    default -> pos++;
                }
            }
            throw new SyntaxError("unterminated double quote");
        }

        /**
         * At a backquote: old-style command substitution, ended by the next unescaped backquote
         * (bash re-parses the contents later; quotes inside do not hide a backquote).
         */
        private void scanBackquoted() {
            pos++;
            while (pos < len) {
                char c = src.charAt(pos);
                if (c == '\\') {
                    pos += 2;
                } else if (c == '`') {
                    pos++;
                    return;
                } else {
                    pos++;
                }
            }
            throw new SyntaxError("unterminated backquote");
        }

        /** At {@code $}: handles {@code $'…' $"…" $(…) $((…)) ${…} $[…]}; anything else is a plain char. */
        private void scanDollar(boolean inDoubleQuotes) {
            char next = at(pos + 1);
            if (next == '\'' && !inDoubleQuotes) {
                pos += 2;
                scanAnsiCQuotedBody();
            } else if (next == '"' && !inDoubleQuotes) {
                pos++;
                scanDoubleQuoted(); // $"…" (locale translation) quotes like "…"
            } else if (next == '(') {
                if (at(pos + 2) == '(') {
                    int end = scanArithmetic(pos + 3);
                    if (end >= 0) {
                        pos = end;
                        return;
                    }
                    // "$((a) )" is a command substitution holding a subshell, as bash decides too.
                }
                pos += 2;
                parseCommandSubstitution();
            } else if (next == '{') {
                pos += 2;
                scanParameterExpansionBody(inDoubleQuotes);
            } else if (next == '[') {
                pos += 2;
                scanOldArithmeticBody(); // deprecated $[ … ]
            } else {
                pos++;
            }
        }

        /**
         * After <code>${</code>: up to the first unquoted <code>}</code>. Quotes and expansions nest,
         * but a bare <code>{</code> does not (bash reads <code>${x:-a{b}c}</code> as
         * <code>${x:-a{b}</code> followed by <code>c}</code>).
         */
        private void scanParameterExpansionBody(boolean inDoubleQuotes) {
            enter();
            while (pos < len) {
                char c = src.charAt(pos);
                switch (c) {
                    case '}' -> {
                        pos++;
                        leave();
                        return;
                    }
                    case '\\' -> pos += 2;
                    case '\'' -> {
                        if (inDoubleQuotes) {
                            pos++; // single quotes are literal inside "${…}"
                        } else {
                            scanSingleQuoted();
                        }
                    }
                    case '"' -> scanDoubleQuoted();
                    case '`' -> scanBackquoted();
                    case '$' -> scanDollar(inDoubleQuotes);
                    default -> pos++;
                }
            }
            throw new SyntaxError("unterminated ${");
        }

        /** After {@code $[}: up to the matching {@code ]}; brackets nest. */
        private void scanOldArithmeticBody() {
            enter();
            int depth = 1;
            while (pos < len) {
                char c = src.charAt(pos);
                switch (c) {
                    case '[' -> {
                        depth++;
                        pos++;
                    }
                    case ']' -> {
                        pos++;
                        if (--depth == 0) {
                            leave();
                            return;
                        }
                    }
                    case '\\' -> pos += 2;
                    case '\'' -> scanSingleQuoted();
                    case '"' -> scanDoubleQuoted();
                    case '`' -> scanBackquoted();
                    case '$' -> scanDollar(false);
                    default -> pos++;
                }
            }
            throw new SyntaxError("unterminated $[");
        }

        /**
         * After {@code $(}, {@code <(} or {@code >(}: the contents are a complete script, so parse
         * them with a fresh grammar until its unmatched {@code )}. (Counting parentheses would be
         * wrong for {@code case} patterns such as {@code a)} or a {@code )} in a comment.)
         */
        private void parseCommandSubstitution() {
            enter();
            Grammar grammar = new Grammar(true);
            while (!grammar.closed) {
                Token t = nextToken(grammar.arithmeticAllowed());
                switch (t.kind()) {
                    case EOF -> throw new SyntaxError("unterminated command substitution");
                    case NEWLINE -> grammar.newline();
                    default -> grammar.accept(t);
                }
            }
            leave();
        }

        /**
         * Tries to read an arithmetic expression starting at {@code from} (just after {@code ((})
         * up to the closing {@code ))}. Returns the index after it, or -1 if the parentheses do not
         * close with {@code ))} (then the caller re-reads it as nested parentheses). The scan is
         * flat and speculative, so it is charged to a budget that keeps the total work linear.
         */
        private int scanArithmetic(int from) {
            int depth = 0;
            int p = from;
            while (p < len) {
                int before = p;
                char c = src.charAt(p);
                switch (c) {
                    case '\\' -> p += 2;
                    case '\'', '"', '`' -> p = skipQuotedFlat(p, c);
                    case '(' -> {
                        depth++;
                        p++;
                    }
                    case ')' -> {
                        if (depth == 0) {
                            return at(p + 1) == ')' ? p + 2 : -1;
                        }
                        depth--;
                        p++;
                    }
                    default -> p++;
                }
                if (p < 0) {
                    return -1;
                }
                arithmeticBudget -= Math.max(1, p - before);
                if (arithmeticBudget < 0) {
                    throw new SyntaxError("input too complex");
                }
            }
            return -1;
        }

        /** From the quote at {@code p}, returns the index after its closing quote, or -1. */
        private int skipQuotedFlat(int p, char quote) {
            for (int i = p + 1; i < len; i++) {
                char c = src.charAt(i);
                if (c == '\\' && quote != '\'') {
                    i++;
                } else if (c == quote) {
                    return i + 1;
                }
            }
            return -1;
        }

        /** At the {@code (} of an extglob pattern: up to the matching {@code )}. */
        private void scanExtglobGroup() {
            enter();
            int depth = 0;
            while (pos < len) {
                char c = src.charAt(pos);
                switch (c) {
                    case '(' -> {
                        depth++;
                        pos++;
                    }
                    case ')' -> {
                        pos++;
                        if (--depth == 0) {
                            leave();
                            return;
                        }
                    }
                    case '\\' -> pos += 2;
                    case '\'' -> scanSingleQuoted();
                    case '"' -> scanDoubleQuoted();
                    case '`' -> scanBackquoted();
                    case '$' -> scanDollar(false);
                    default -> pos++;
                }
            }
            throw new SyntaxError("unterminated extglob pattern");
        }

        /**
         * At the {@code (} of {@code name=(…)}: words separated by blanks or newlines, with comments,
         * up to {@code )}.
         */
        private void scanArrayLiteral() {
            enter();
            pos++;
            while (true) {
                while (pos < len) {
                    char c = src.charAt(pos);
                    if (c == ' ' || c == '\t' || c == '\n') {
                        pos++;
                    } else if (c == '\\' && at(pos + 1) == '\n') {
                        pos += 2;
                    } else if (c == '#') {
                        int newline = src.indexOf('\n', pos);
                        pos = newline < 0 ? len : newline;
                    } else {
                        break;
                    }
                }
                if (pos >= len) {
                    throw new SyntaxError("unterminated array literal");
                }
                if (src.charAt(pos) == ')') {
                    pos++;
                    leave();
                    return;
                }
                int elementStart = pos;
                scanWord(elementStart, true);
                if (pos == elementStart) {
                    throw new SyntaxError("unexpected character in array literal");
                }
            }
        }

        /**
         * If the input at {@code start} begins like an assignment ({@code NAME=}, {@code NAME+=},
         * {@code NAME[sub]=}) before {@code limit}, returns the index just after the {@code =};
         * otherwise -1.
         */
        private int assignmentPrefixEnd(int start, int limit) {
            int i = start;
            if (i >= limit || !isNameStart(src.charAt(i))) {
                return -1;
            }
            while (i < limit && isNameChar(src.charAt(i))) {
                i++;
            }
            if (i < limit && src.charAt(i) == '[') {
                int close = src.indexOf(']', i);
                if (close < 0 || close >= limit) {
                    return -1;
                }
                i = close + 1;
            }
            if (i < limit && src.charAt(i) == '+') {
                i++;
            }
            return i < limit && src.charAt(i) == '=' ? i + 1 : -1;
        }

        private static boolean isNameStart(char c) {
            return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        }

        private static boolean isNameChar(char c) {
            return isNameStart(c) || (c >= '0' && c <= '9');
        }

        // ---------------------------------------------------------------- lexer: here-documents

        /** Registers a here-document whose delimiter is the word token {@code word}. */
        void addHeredoc(Token word, boolean stripTabs) {
            // The delimiter is the word after quote removal; any quoting makes the body literal,
            // which (for us) only changes whether backslash-newline joins body lines.
            StringBuilder delimiter = new StringBuilder();
            boolean quoted = false;
            int i = word.start();
            int end = word.end();
            while (i < end) {
                char c = src.charAt(i);
                if (c == '\\' && i + 1 < end) {
                    quoted = true;
                    delimiter.append(src.charAt(i + 1));
                    i += 2;
                } else if (c == '\'') {
                    quoted = true;
                    int close = src.indexOf('\'', i + 1);
                    if (close < 0 || close >= end) {
                        close = end;
                    }
                    delimiter.append(src, i + 1, close);
                    i = close + 1;
                } else if (c == '"') {
                    quoted = true;
                    i++;
                    while (i < end && src.charAt(i) != '"') {
                        if (src.charAt(i) == '\\' && i + 1 < end && "$`\"\\\n".indexOf(src.charAt(i + 1)) >= 0) {
                            i++;
                        }
                        delimiter.append(src.charAt(i));
                        i++;
                    }
                    i++;
                } else {
                    delimiter.append(c);
                    i++;
                }
            }
            pendingHeredocs.addLast(new Heredoc(delimiter.toString(), stripTabs, quoted));
        }

        /** Reads all pending here-document bodies in order; returns the end of the last one. */
        private int readHeredocBodies() {
            int end = -1;
            while (!pendingHeredocs.isEmpty()) {
                end = readHeredocBody(pendingHeredocs.removeFirst());
            }
            return end;
        }

        /**
         * Consumes body lines through the delimiter line and returns the end of that line (before
         * its newline). The delimiter must be the whole line; {@code <<-} allows leading tabs (not
         * spaces).
         */
        private int readHeredocBody(Heredoc heredoc) {
            while (pos < len) {
                int lineEnd = endOfLine(pos);
                boolean isDelimiter;
                if (!heredoc.quoted() && endsWithLineContinuation(pos, lineEnd) && lineEnd < len) {
                    // Unquoted delimiter: bash joins a line ending in an (unescaped) backslash with
                    // the next one before comparing, so "foo \<newline>EOF" does not end the body.
                    StringBuilder logical = new StringBuilder();
                    int lineStart = pos;
                    while (endsWithLineContinuation(lineStart, lineEnd) && lineEnd < len) {
                        logical.append(src, lineStart, lineEnd - 1);
                        lineStart = lineEnd + 1;
                        lineEnd = endOfLine(lineStart);
                    }
                    logical.append(src, lineStart, lineEnd);
                    isDelimiter = isDelimiterLine(logical, 0, logical.length(), heredoc);
                } else {
                    isDelimiter = isDelimiterLine(src, pos, lineEnd, heredoc);
                }
                pos = lineEnd < len ? lineEnd + 1 : len;
                if (isDelimiter) {
                    return lineEnd;
                }
            }
            throw new SyntaxError("unterminated here-document");
        }

        private int endOfLine(int from) {
            int newline = src.indexOf('\n', from);
            return newline < 0 ? len : newline;
        }

        /** True if the line ends in an odd number of backslashes (an even run is escaped backslashes). */
        private boolean endsWithLineContinuation(int lineStart, int lineEnd) {
            int backslashes = 0;
            for (int i = lineEnd - 1; i >= lineStart && src.charAt(i) == '\\'; i--) {
                backslashes++;
            }
            return backslashes % 2 == 1;
        }

        private static boolean isDelimiterLine(CharSequence text, int start, int end, Heredoc heredoc) {
            int i = start;
            if (heredoc.stripTabs()) {
                while (i < end && text.charAt(i) == '\t') {
                    i++;
                }
            }
            String delimiter = heredoc.delimiter();
            if (end - i != delimiter.length()) {
                return false;
            }
            for (int k = 0; k < delimiter.length(); k++) {
                if (text.charAt(i + k) != delimiter.charAt(k)) {
                    return false;
                }
            }
            return true;
        }

        // ---------------------------------------------------------------- grammar

        /**
         * Tracks one command list (the top level, or the inside of a command substitution): the
         * stack of open compound commands plus a few flags about what the next token may be.
         */
        private final class Grammar {
            /** Inside $( … ): an unmatched ')' closes it. */
            private final boolean commandSubstitution;
            private final Deque<Phase> open = new ArrayDeque<>();
            /** Set when the closing ')' of a command substitution was read. */
            boolean closed;

            /** The next word is the first word of a command: reserved words are recognised only here. */
            private boolean commandPosition = true;
            /** No command yet where one is required: a list operator here would be a syntax error. */
            private boolean needCommand = true;
            /** No command yet in the innermost condition or body: bash rejects "if then", "{ }", "( )". */
            private boolean emptyBody = true;
            /** After &&, || or |: the command continues past newlines. */
            private boolean continuation;
            private boolean pendingRedirectTarget;
            private boolean pendingHeredocDelimiter;
            private boolean heredocStripTabs;
            /** The previous token was a command name, so "name (" starts a function definition. */
            private boolean functionNameCandidate;
            /** The function name came after the `function` keyword (then "( body )" is allowed). */
            private boolean functionNameFromKeyword;
            /** After `function`: the name comes next. */
            private boolean expectFunctionName;
            /** After "name (": expecting ")". */
            private boolean functionParens;
            private boolean functionParensFromKeyword;
            /** After a function header: the body (a compound command) comes next, newlines allowed. */
            private boolean functionBody;
            /** The previous token was `time` (so a following -p keeps command position). */
            private boolean afterTime;
            /** The previous token was `coproc`, which cannot end a line. */
            private boolean afterCoproc;
            /** The token being accepted directly follows &&, || or | (so it cannot close anything). */
            private boolean afterListOperator;
            /**
             * The previous token closed a compound command ({@code fi}, {@code )}, {@code ]]}, …): only
             * operators, redirections and reserved words that continue an outer compound may follow.
             */
            private boolean afterCompound;

            Grammar(boolean commandSubstitution) {
                this.commandSubstitution = commandSubstitution;
            }

            /** True when a newline here would end the command (nothing is left open). */
            boolean isComplete() {
                return open.isEmpty() && !continuation && !functionBody && !functionParens && !afterCoproc
                        && !expectFunctionName && !pendingRedirectTarget && !pendingHeredocDelimiter;
            }

            boolean arithmeticAllowed() {
                if (pendingRedirectTarget || pendingHeredocDelimiter) {
                    return false;
                }
                Phase top = open.peek();
                if (top == Phase.FOR_NAME) {
                    return true; // for (( i = 0; i < n; i++ ))
                }
                if (top == Phase.CONDITIONAL || (top != null && top.isLoopOrCaseHeader())) {
                    return false;
                }
                return commandPosition;
            }

            void newline() {
                if (pendingRedirectTarget || pendingHeredocDelimiter || functionParens || expectFunctionName
                        || afterCoproc) {
                    throw new SyntaxError("unexpected newline");
                }
                functionNameCandidate = false;
                afterTime = false;
                afterCompound = false;
                Phase top = open.peek();
                if (top != null) {
                    switch (top) {
                        case FOR_NAME, CASE_WORD, CASE_PATTERN_WORD, CASE_PATTERN_NEXT ->
                                throw new SyntaxError("unexpected newline");
                        case FOR_WORDS -> {
                            replaceTop(Phase.FOR_EXPECT_DO); // the newline ends the word list like ';'
                            return;
                        }
                        case FOR_AFTER_NAME, FOR_EXPECT_DO, CASE_EXPECT_IN, CASE_PATTERN_START, CONDITIONAL -> {
                            return; // newlines are insignificant here
                        }
                        default -> {
                        }
                    }
                }
                // A newline separates commands like ';' (and is allowed after && || | too).
                commandPosition = true;
                needCommand = true;
            }

            void accept(Token t) {
                boolean nameCandidate = functionNameCandidate;
                boolean nameFromKeyword = functionNameFromKeyword;
                boolean wasTime = afterTime;
                functionNameCandidate = false;
                functionNameFromKeyword = false;
                afterTime = false;
                afterCoproc = false;
                afterListOperator = continuation;
                continuation = false;
                boolean followsCompound = afterCompound;
                afterCompound = false;

                if (pendingRedirectTarget || pendingHeredocDelimiter) {
                    if (t.kind() != Kind.WORD) {
                        throw new SyntaxError("missing redirection target");
                    }
                    if (pendingHeredocDelimiter) {
                        addHeredoc(t, heredocStripTabs);
                    }
                    pendingRedirectTarget = false;
                    pendingHeredocDelimiter = false;
                    commandPosition = false; // as in bash: no reserved words right after a word
                    needCommand = false;
                    emptyBody = false; // "> file" alone is a command
                    return;
                }
                if (functionParens) {
                    functionParens = false;
                    if (t.kind() == Kind.RPAREN) {
                        startFunctionBody();
                        return;
                    }
                    if (!functionParensFromKeyword) {
                        throw new SyntaxError("expected ) in function definition");
                    }
                    // "function f ( body )": the parenthesis opened a subshell body.
                    push(Phase.SUBSHELL);
                }
                if (expectFunctionName) {
                    expectFunctionName = false;
                    if (t.kind() != Kind.WORD) {
                        throw new SyntaxError("expected function name");
                    }
                    functionNameCandidate = true; // "function f ()" is allowed too
                    functionNameFromKeyword = true;
                    startFunctionBody();
                    return;
                }
                if (functionBody) {
                    functionBody = false;
                    if (!opensCompoundCommand(t)) {
                        throw new SyntaxError("function body must be a compound command");
                    }
                }

                Phase top = open.peek();
                if (top == Phase.CONDITIONAL) {
                    // Inside [[ … ]] operators like < > ( ) && are part of the expression.
                    if (isWord(t, "]]")) {
                        open.pop();
                        closedCompound();
                    }
                    return;
                }
                if (top != null && top.isLoopOrCaseHeader()) {
                    acceptHeader(t, top);
                    return;
                }

                if (followsCompound && !mayFollowCompound(t)) {
                    throw new SyntaxError("unexpected token after compound command");
                }
                switch (t.kind()) {
                    case WORD -> acceptWord(t, wasTime);
                    case ARITH -> closedCompound();
                    case AND_IF, OR_IF, PIPE -> {
                        requireCommand();
                        continuation = true;
                        commandPosition = true;
                        needCommand = true;
                    }
                    case SEMI, AMP -> {
                        requireCommand();
                        commandPosition = true;
                        needCommand = true;
                    }
                    case CASE_END -> {
                        rejectAfterListOperator();
                        expectTop(Phase.CASE_BODY);
                        replaceTop(Phase.CASE_PATTERN_START);
                        commandPosition = false;
                    }
                    case LPAREN -> {
                        if (nameCandidate) {
                            functionParens = true; // name ( ) compound-command
                            functionParensFromKeyword = nameFromKeyword;
                        } else if (commandPosition) {
                            push(Phase.SUBSHELL);
                        } else {
                            throw new SyntaxError("unexpected (");
                        }
                    }
                    case RPAREN -> {
                        rejectAfterListOperator();
                        if (top == Phase.SUBSHELL) {
                            rejectEmptyBody();
                            open.pop();
                            closedCompound();
                        } else if (top == null && commandSubstitution) {
                            if (!isComplete()) {
                                throw new SyntaxError("unexpected ) in command substitution");
                            }
                            closed = true;
                        } else {
                            throw new SyntaxError("unexpected )");
                        }
                    }
                    case HEREDOC -> {
                        pendingHeredocDelimiter = true;
                        heredocStripTabs = t.stripTabs();
                    }
                    case REDIR -> pendingRedirectTarget = true;
                    default -> throw new IllegalStateException("unexpected token " + t.kind());
                }
            }

            private void acceptWord(Token t, boolean wasTime) {
                if (!commandPosition) {
                    needCommand = false; // an argument
                    emptyBody = false;
                    return;
                }
                String word = t.end() - t.start() <= 8 ? src.substring(t.start(), t.end()) : "";
                switch (word) {
                    case "if" -> push(Phase.IF_CONDITION);
                    case "then" -> enterBody(Phase.IF_CONDITION, Phase.IF_THEN_BODY);
                    case "elif" -> enterBody(Phase.IF_THEN_BODY, Phase.IF_CONDITION);
                    case "else" -> enterBody(Phase.IF_THEN_BODY, Phase.IF_ELSE_BODY);
                    case "fi" -> close(Phase.IF_THEN_BODY, Phase.IF_ELSE_BODY);
                    case "while", "until" -> push(Phase.LOOP_CONDITION);
                    case "do" -> enterBody(Phase.LOOP_CONDITION, Phase.LOOP_BODY);
                    case "done" -> close(Phase.LOOP_BODY, Phase.LOOP_BODY);
                    case "for", "select" -> {
                        push(Phase.FOR_NAME);
                        commandPosition = false;
                    }
                    case "case" -> {
                        push(Phase.CASE_WORD);
                        commandPosition = false;
                    }
                    case "esac" -> close(Phase.CASE_BODY, Phase.CASE_BODY);
                    case "{" -> push(Phase.BRACE_GROUP);
                    case "}" -> close(Phase.BRACE_GROUP, Phase.BRACE_GROUP);
                    case "[[" -> {
                        push(Phase.CONDITIONAL);
                        commandPosition = false;
                    }
                    case "!" -> {
                        // a prefix: the next word is still in command position ("!" alone is valid)
                        needCommand = false;
                        emptyBody = false;
                    }
                    case "coproc" -> afterCoproc = true; // a prefix that needs a command after it
                    case "time" -> {
                        afterTime = true;
                        needCommand = false; // a bare `time` is a valid command
                        emptyBody = false;
                    }
                    case "function" -> expectFunctionName = true;
                    case "in", "]]" -> throw new SyntaxError("unexpected reserved word " + word);
                    default -> {
                        needCommand = false;
                        emptyBody = false;
                        if (wasTime && word.equals("-p")) {
                            afterTime = true; // time -p still precedes a command
                        } else {
                            // The command name (or a leading assignment a=1, after which bash no longer
                            // recognises reserved words either).
                            commandPosition = false;
                            functionNameCandidate = assignmentPrefixEnd(t.start(), t.end()) < 0;
                        }
                    }
                }
            }

            /** Header words of for/select and case, which are not commands. */
            private void acceptHeader(Token t, Phase top) {
                switch (top) {
                    case FOR_NAME -> {
                        if (t.kind() != Kind.WORD && t.kind() != Kind.ARITH) {
                            throw new SyntaxError("expected loop variable");
                        }
                        replaceTop(Phase.FOR_AFTER_NAME);
                    }
                    case FOR_AFTER_NAME -> {
                        if (isWord(t, "in")) {
                            replaceTop(Phase.FOR_WORDS);
                        } else if (isWord(t, "do")) {
                            enterLoopBody();
                        } else if (t.kind() == Kind.SEMI) {
                            replaceTop(Phase.FOR_EXPECT_DO);
                        } else {
                            throw new SyntaxError("unexpected token in for header");
                        }
                    }
                    case FOR_WORDS -> {
                        if (t.kind() == Kind.SEMI) {
                            replaceTop(Phase.FOR_EXPECT_DO);
                        } else if (t.kind() != Kind.WORD) {
                            throw new SyntaxError("unexpected token in for word list");
                        }
                    }
                    case FOR_EXPECT_DO -> {
                        if (!isWord(t, "do")) {
                            throw new SyntaxError("expected do");
                        }
                        enterLoopBody();
                    }
                    case CASE_WORD -> {
                        if (t.kind() != Kind.WORD) {
                            throw new SyntaxError("expected case word");
                        }
                        replaceTop(Phase.CASE_EXPECT_IN);
                    }
                    case CASE_EXPECT_IN -> {
                        if (!isWord(t, "in")) {
                            throw new SyntaxError("expected in");
                        }
                        replaceTop(Phase.CASE_PATTERN_START);
                    }
                    case CASE_PATTERN_START -> {
                        // Only `esac` as the first word of a pattern is a keyword; "(" may open a pattern.
                        if (isWord(t, "esac")) {
                            open.pop();
                            closedCompound();
                        } else if (t.kind() == Kind.LPAREN) {
                            replaceTop(Phase.CASE_PATTERN_WORD);
                        } else if (t.kind() == Kind.WORD) {
                            replaceTop(Phase.CASE_PATTERN_NEXT);
                        } else {
                            throw new SyntaxError("expected case pattern");
                        }
                    }
                    case CASE_PATTERN_WORD -> {
                        if (t.kind() != Kind.WORD) {
                            throw new SyntaxError("expected case pattern");
                        }
                        replaceTop(Phase.CASE_PATTERN_NEXT);
                    }
                    case CASE_PATTERN_NEXT -> {
                        if (t.kind() == Kind.PIPE && t.end() - t.start() == 1) {
                            replaceTop(Phase.CASE_PATTERN_WORD); // a|b)
                        } else if (t.kind() == Kind.RPAREN) {
                            replaceTop(Phase.CASE_BODY);
                            commandPosition = true;
                            needCommand = true;
                        } else {
                            throw new SyntaxError("expected | or ) after case pattern");
                        }
                    }
                    default -> throw new IllegalStateException("not a header phase: " + top);
                }
            }

            private boolean mayFollowCompound(Token t) {
                switch (t.kind()) {
                    case WORD:
                        for (String keyword : CONTINUING_KEYWORDS) {
                            if (isWord(t, keyword)) {
                                return true;
                            }
                        }
                        return false;
                    case ARITH:
                    case LPAREN:
                        return false;
                    default:
                        return true; // operators and redirections
                }
            }

            private boolean opensCompoundCommand(Token t) {
                if (t.kind() == Kind.LPAREN || t.kind() == Kind.ARITH) {
                    return true;
                }
                return isWord(t, "{") || isWord(t, "if") || isWord(t, "for") || isWord(t, "select")
                        || isWord(t, "while") || isWord(t, "until") || isWord(t, "case") || isWord(t, "[[");
            }

            private boolean isWord(Token t, String word) {
                return t.kind() == Kind.WORD && t.end() - t.start() == word.length()
                        && src.startsWith(word, t.start());
            }

            /** "a && )" or "a | fi": a closing token cannot follow a list operator. */
            private void rejectAfterListOperator() {
                if (afterListOperator) {
                    throw new SyntaxError("missing command after operator");
                }
            }

            private void rejectEmptyBody() {
                if (emptyBody) {
                    throw new SyntaxError("empty compound command body");
                }
            }

            private void requireCommand() {
                if (needCommand) {
                    throw new SyntaxError("operator without a command before it");
                }
            }

            private void startFunctionBody() {
                functionBody = true;
                commandPosition = true;
                needCommand = true;
            }

            private void push(Phase phase) {
                open.push(phase);
                commandPosition = true;
                needCommand = true;
                emptyBody = true;
            }

            private void replaceTop(Phase phase) {
                open.pop();
                open.push(phase);
            }

            private void expectTop(Phase expected) {
                if (open.peek() != expected) {
                    throw new SyntaxError("unexpected token");
                }
            }

            /** then/elif/else/do: valid only in the given phase; moves to the next one. */
            private void enterBody(Phase required, Phase next) {
                rejectAfterListOperator();
                expectTop(required);
                rejectEmptyBody();
                replaceTop(next);
                commandPosition = true;
                needCommand = true;
                emptyBody = true;
            }

            private void enterLoopBody() {
                replaceTop(Phase.LOOP_BODY);
                commandPosition = true;
                needCommand = true;
                emptyBody = true;
            }

            /** fi/done/esac/}: valid only when the top is one of the given phases; pops it. */
            private void close(Phase either, Phase or) {
                rejectAfterListOperator();
                Phase top = open.peek();
                if (top != either && top != or) {
                    throw new SyntaxError("unbalanced compound command");
                }
                if (top != Phase.CASE_BODY) {
                    rejectEmptyBody(); // "case a in a) esac" is fine, "{ }" is not
                }
                open.pop();
                closedCompound();
            }

            private void closedCompound() {
                // Bash still recognises reserved words right after ) } fi done esac ]] and ((…)),
                // e.g. "if (true) then …" is valid; a plain word there would be a syntax error.
                commandPosition = true;
                needCommand = false;
                emptyBody = false;
                afterCompound = true;
            }
        }
    }
}
