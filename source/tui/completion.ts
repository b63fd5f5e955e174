/** Tab completion of the prompt line: command names, then file names the tracker knows (pure). */

export type Completion = {
	/** The line after completion (unchanged when nothing matches). */
	value: string;
	/** Every match when more than one fits; shown under the prompt. */
	choices: string[];
};

/** Commands whose one argument is a file name. */
const takesFileName = new Set(['find', 'download', 'get', 'put', 'unpin']);
const takesArgument = new Set(['find', 'download', 'get', 'put', 'unpin', 'getload']);

export function completeLine(line: string, commands: readonly string[], fileNames: readonly string[]): Completion {
	const text = line.trimStart();
	const firstSpace = text.search(/\s/);
	if (firstSpace === -1) {
		const matches = commands.filter(command => command.startsWith(text.toLowerCase()));
		return extend(line, text, matches, match => (takesArgument.has(match) ? `${match} ` : match));
	}

	const verb = text.slice(0, firstSpace).toLowerCase();
	const rest = text.slice(firstSpace).trimStart();
	if (!takesFileName.has(verb) || /\s/.test(rest)) {
		return {value: line, choices: []};
	}

	const matches = fileNames.filter(name => name.startsWith(rest));
	return extend(line, rest, matches, match => match, prefix => `${verb} ${prefix}`);
}

function extend(
	line: string,
	typed: string,
	matches: string[],
	whole: (match: string) => string,
	wrap: (text: string) => string = text => text,
): Completion {
	if (matches.length === 0) {
		return {value: line, choices: []};
	}

	if (matches.length === 1) {
		return {value: wrap(whole(matches[0]!)), choices: []};
	}

	const prefix = commonPrefix(matches);
	return {value: wrap(prefix.length > typed.length ? prefix : typed), choices: [...matches].sort()};
}

function commonPrefix(words: readonly string[]): string {
	let prefix = words[0] ?? '';
	for (const word of words) {
		while (!word.startsWith(prefix)) {
			prefix = prefix.slice(0, -1);
		}
	}

	return prefix;
}
