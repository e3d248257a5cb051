/* evalcase.h - regression cases made from model calls, and what `eval`
 * does with them: a case holds the exact request the model received (in
 * the GenAI conventions' neutral shape: system instructions, messages,
 * tools, parameters), the output it gave, a label, its source span, and
 * the checks a new output must pass.  Replaying turns the request into an
 * OpenAI Chat Completions or Anthropic Messages body; the answer is
 * turned back into a neutral output {"text","tool_calls","finish_reason"}
 * that the checks score.  Runs in the inspector's own process. */
#ifndef AT_CLI_EVALCASE_H
#define AT_CLI_EVALCASE_H

#include <stddef.h>

#include <jansson.h>

#include "cli/span.h"

/* at_cli_check_parse: a check from an --expect spec:
 *   regex=RE          the output text matches RE (POSIX extended)
 *   not-regex=RE      it does not
 *   tool=NAME         the output calls tool NAME
 *   tool=NAME:JSON    ... with arguments holding these keys and values
 *   json              the output text is valid JSON (a ``` fence allowed)
 *   exact=TEXT        the output text is TEXT (surrounding white space
 *                     ignored)
 * Returns a new check object, or NULL with a reason in err. */
json_t *at_cli_check_parse(const char *spec, char *err, size_t errlen);

/* at_cli_case_from_span: a case for the model call s.  `checks` is
 * borrowed (an array).  NULL with a reason in err when s is not a model
 * call or holds no messages (content capture off). */
json_t *at_cli_case_from_span(const at_cli_span *s, const char *file,
                              const char *label, json_t *checks, char *err,
                              size_t errlen);

/* at_cli_case_check: whether c looks like a case; NULL or a reason. */
const char *at_cli_case_check(const json_t *c);

/* at_cli_request_openai / _anthropic: the wire body replaying case c's
 * request, with `model` (NULL: the case's).  New references. */
json_t *at_cli_request_openai(const json_t *c, const char *model);
json_t *at_cli_request_anthropic(const json_t *c, const char *model);

/* at_cli_output_openai / _anthropic: the neutral output of an answer:
 * {"text": "...", "tool_calls": [{"id","name","arguments"}],
 *  "finish_reason": "..."}.  NULL when the body is not such an answer. */
json_t *at_cli_output_openai(const json_t *resp);
json_t *at_cli_output_anthropic(const json_t *resp);

/* at_cli_output_recorded: the neutral output of the case's recorded
 * output (to score the original answer, e.g. in tests). */
json_t *at_cli_output_recorded(const json_t *c);

/* at_cli_check_run: score one check against a neutral output: a new
 * {"type","passed","detail"} object. */
json_t *at_cli_check_run(const json_t *check, const json_t *output);

#endif
