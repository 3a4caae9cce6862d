import { isObject, type JsonObject, type JsonValue } from '../types';

/** What an answer says, for comparing two answers: each choice's text, or its message's content and tool calls. */
export function answerText(response: JsonObject): string {
  const choices = Array.isArray(response.choices) ? response.choices.filter(isObject) : [];
  return choices
    .map((choice) => {
      if (typeof choice.text === 'string') return choice.text;
      const message = isObject(choice.message) ? choice.message : {};
      const calls = Array.isArray(message.tool_calls)
        ? JSON.stringify(message.tool_calls.map((call) => (isObject(call) ? (call.function ?? null) : null)))
        : '';
      return `${typeof message.content === 'string' ? message.content : ''}${calls}`;
    })
    .join('\n');
}

/** An answer's text with whitespace runs collapsed and the ends trimmed. */
export const normalizedAnswer = (text: string): string => text.replace(/\s+/g, ' ').trim();
