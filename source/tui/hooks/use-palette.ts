/** Colours of the screen, or none at all when NO_COLOR is set. */
import {createContext, useContext} from 'react';

export type Palette = {
	good?: string;
	warning?: string;
	bad?: string;
	accent?: string;
	/** Faint text for secondary information. */
	dim: boolean;
};

/** NO_COLOR (https://no-color.org): present and not empty turns colours off. */
export function colorsEnabled(env: Readonly<Record<string, string | undefined>>): boolean {
	return !env.NO_COLOR;
}

export function paletteFor(colors: boolean): Palette {
	return colors ? {good: 'green', warning: 'yellow', bad: 'red', accent: 'cyan', dim: true} : {dim: false};
}

export const PaletteContext = createContext<Palette>(paletteFor(true));

export function usePalette(): Palette {
	return useContext(PaletteContext);
}
