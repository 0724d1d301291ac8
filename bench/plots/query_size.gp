# query_size.gp - query time against store size: one panel per question,
# trail (bench_query) against SQLite and ClickHouse. Data: bench/run-all.sh
# --plots writes query_size.dat from compare_query.sh runs, columns: events,
# then trail, SQLite, ClickHouse ms for user, trace, counts, text, rare,
# warning (19 columns; -1 where a figure is missing).
# Run: gnuplot -e "datafile='query_size.dat'; outfile='query_size.png'" query_size.gp
if (!exists("datafile")) datafile = 'query_size.dat'
if (!exists("outfile")) outfile = 'query_size.png'
set terminal pngcairo size 1200,720 font "sans,10" noenhanced
set output outfile
q = "user trace counts text rare warning"
desc = "'one user, newest 100' 'one trace id' 'counts per event per hour' 'a free-text term, newest 100' 'a rare term, newest 100' 'newest 100 WARNING+'"
set multiplot layout 2,3 title "Query time against store size (30 days of events; median of warm runs, timed inside each engine)"
set logscale xy
set format x "%.0s%c"
set format y "%g"
set grid
set xlabel "events"
set ylabel "ms"
set key top left font ",9"
pos(c) = (c > 0 ? c : 1/0)
do for [i=1:6] {
    set title sprintf("%s: %s", word(q, i), word(desc, i))
    plot datafile using 1:(pos(column(2 + 3*(i-1)))) with linespoints lw 2 lc rgb "#1f77b4" title "trail", \
         datafile using 1:(pos(column(3 + 3*(i-1)))) with linespoints lw 1 dt 2 lc rgb "#2ca02c" title "SQLite", \
         datafile using 1:(pos(column(4 + 3*(i-1)))) with linespoints lw 1 dt 3 lc rgb "#d62728" title "ClickHouse"
}
unset multiplot
