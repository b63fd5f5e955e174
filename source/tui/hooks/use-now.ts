/** The current time, ticking only while something on screen counts down. */
import {useEffect, useState} from 'react';

export function useNow(active: boolean, intervalMs = 250): number {
	const [now, setNow] = useState(Date.now);
	useEffect(() => {
		if (!active) {
			return;
		}

		setNow(Date.now());
		const timer = setInterval(() => {
			setNow(Date.now());
		}, intervalMs);
		return () => {
			clearInterval(timer);
		};
	}, [active, intervalMs]);
	return now;
}
