# sustained.gp - bench/sustained.sh's run over time: ingest rate (with the
# load's target), the unsealed backlog and the HTTP probe's p99.
# Data: sustained.csv, columns: secs, events_per_s, unsealed_segments,
# unsealed_mb, bytes_per_event, rss_mb, probe_p99_ms, phase.
# Run: gnuplot -e "datafile='sustained.csv'; outfile='sustained.png'; target=N; endload=S" sustained.gp
if (!exists("datafile")) datafile = 'sustained.csv'
if (!exists("outfile")) outfile = 'sustained.png'
if (!exists("target")) target = 0
if (!exists("endload")) endload = 0
set terminal pngcairo size 900,900 font "sans,11" noenhanced
set output outfile
set datafile separator ","
set key autotitle columnhead
set multiplot layout 3,1 title "traild under a sustained TCP syslog load (bench/sustained.sh)"
set grid
set xlabel "seconds"
set arrow 1 from endload, graph 0 to endload, graph 1 nohead dt 2 lc rgb "gray40"
set ylabel "events/s"
set format y "%.0s%c"
set yrange [0:*]
plot datafile using 1:2 with lines lw 2 title "ingest rate", \
     target with lines dt 2 lc rgb "gray40" title "load"
set ylabel "MB unsealed"
set format y "%g"
set y2label "bytes/event"
set y2tics
plot datafile using 1:4 with lines lw 2 title "rolled segments not sealed, MB", \
     datafile using 1:5 axes x1y2 with lines lw 2 title "bytes/event on disk (right)"
unset y2label
unset y2tics
set ylabel "ms"
plot datafile using 1:7 with linespoints pt 7 ps 0.5 lw 2 title "HTTP probe p99 (batch of 10)", \
     5 with lines dt 2 lc rgb "gray40" title "target 5 ms"
unset multiplot
